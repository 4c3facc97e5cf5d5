/**
 * What happens to each column of one CSV file, decided once from its header (contract §10): `drop` first, then
 * `hash` (of the original value), then `mask` (on the values not hashed).
 */
import { CachedHash, type Hmac32 } from './hmac.js';
import { applyMasks, masksFor } from './mask.js';
import { RedactionError, type EffectiveRules, type MaskRule } from './types.js';

type Column =
  | { kind: 'keep'; index: number }
  | { kind: 'hash'; index: number; hash: CachedHash }
  | { kind: 'mask'; index: number; masks: readonly MaskRule[] };

const NEEDS_QUOTES = /[",\r\n]/;

/** A field as RFC 4180 writes it (csv-stringify's quoting). */
function quoteField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export class CsvPlan {
  /** The output's column names (the header without the dropped columns). */
  readonly columns: string[];
  /** Columns of the input. */
  readonly width: number;
  readonly dropped: string[];
  readonly hashed: string[];
  /** Values a mask changed so far. */
  masked = 0;
  readonly #columns: Column[];
  /** The output record, reused (the splitter formats it before `write()` returns). */
  readonly #out: string[];

  /**
   * `names`: the input's header fields. `where` names the file in errors; `key` the collector (for the rule's
   * path). Throws {@link RedactionError} when a column the key's own rules drop or hash is not in the header.
   */
  constructor(names: readonly string[], rules: EffectiveRules, hmac: Hmac32 | null, where: string, key: string) {
    const present = new Set(names);
    const missing = rules.required.find((rule) => !present.has(rule.name));
    if (missing !== undefined) {
      throw new RedactionError(
        `${where}: the column ${JSON.stringify(missing.name)} of redact.rules.${key}.${missing.action} is not in the header ` +
          `(${names.map((n) => JSON.stringify(n)).join(',')}); nothing of this collection is kept: fix the rule or the collector's columns`,
      );
    }
    this.width = names.length;
    this.dropped = [...rules.drop].filter((name) => present.has(name));
    this.hashed = [...rules.hash].filter((name) => present.has(name));
    const caches = new Map<string, CachedHash>();
    this.#columns = [];
    this.columns = [];
    names.forEach((name, index) => {
      if (rules.drop.has(name)) return;
      this.columns.push(name);
      if (rules.hash.has(name)) {
        if (hmac === null) throw new Error('internal: a hash rule without a key');
        let hash = caches.get(name);
        if (hash === undefined) caches.set(name, (hash = new CachedHash(hmac)));
        this.#columns.push({ kind: 'hash', index, hash });
        return;
      }
      const masks = masksFor(rules.mask, name);
      this.#columns.push(masks.length === 0 ? { kind: 'keep', index } : { kind: 'mask', index, masks });
    });
    this.#out = new Array<string>(this.#columns.length).fill('');
  }

  /** True when every column is dropped: the file has nothing left to send. */
  get empty(): boolean {
    return this.#columns.length === 0;
  }

  /** The header line as RFC 4180 writes it, LF included ('' when every column is dropped). */
  get header(): string {
    return this.columns.length === 0 ? '' : `${this.columns.map(quoteField).join(',')}\n`;
  }

  /** The output values for `fields` (one per input column). The array is reused by the next call. */
  record(fields: readonly string[]): string[] {
    const columns = this.#columns;
    const out = this.#out;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      const value = fields[column.index]!;
      if (column.kind === 'keep') {
        out[c] = value;
      } else if (column.kind === 'hash') {
        out[c] = value === '' ? value : column.hash.digest(value);
      } else {
        const masked = applyMasks(value, column.masks);
        if (masked !== value) this.masked++;
        out[c] = masked;
      }
    }
    return out;
  }
}
