/**
 * What happens to each column of one CSV file, decided once from its header (contract §10): `drop` first, then
 * `hash` (of the original value), then `mask` (on the values not hashed). The plan writes records back as RFC 4180
 * CSV, quoting a field only when it holds a quote, a comma, CR or LF — what csv-stringify does.
 */
import { CachedHash, type Hmac32 } from './hmac.js';
import { applyMasks, masksFor } from './mask.js';
import { RedactionError, type EffectiveRules, type MaskRule } from './types.js';

type Column =
  | { kind: 'keep'; index: number }
  | { kind: 'hash'; index: number; hash: CachedHash }
  | { kind: 'mask'; index: number; masks: readonly MaskRule[] };

const NEEDS_QUOTES = /[",\r\n]/;

export function quoteField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export class CsvPlan {
  /** The header line of the output, LF included. */
  readonly header: string;
  /** Columns of the input. */
  readonly width: number;
  readonly dropped: string[];
  readonly hashed: string[];
  /** Values a mask changed so far. */
  masked = 0;
  readonly #columns: Column[];

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
    const kept: string[] = [];
    names.forEach((name, index) => {
      if (rules.drop.has(name)) return;
      kept.push(name);
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
    this.header = kept.length === 0 ? '' : this.#finish(kept.map(quoteField).join(','), kept.length);
  }

  /** True when every column is dropped: the file has nothing left to send. */
  get empty(): boolean {
    return this.#columns.length === 0;
  }

  /** The output record for `fields` (one per input column), LF included. `plain`: no field needs quoting. */
  line(fields: readonly string[], plain: boolean): string {
    const columns = this.#columns;
    let line = '';
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      let value = fields[column.index]!;
      if (column.kind === 'hash') {
        if (value !== '') value = column.hash.digest(value);
      } else if (column.kind === 'mask') {
        const masked = applyMasks(value, column.masks);
        if (masked !== value) {
          this.masked++;
          value = quoteField(masked);
        } else if (!plain) {
          value = quoteField(value);
        }
      } else if (!plain) {
        value = quoteField(value);
      }
      line = c === 0 ? value : `${line},${value}`;
    }
    return this.#finish(line, columns.length);
  }

  /** A record of one empty field is written `""`, so that it is not an empty line. */
  #finish(line: string, width: number): string {
    return width === 1 && line === '' ? '""\n' : `${line}\n`;
  }
}
