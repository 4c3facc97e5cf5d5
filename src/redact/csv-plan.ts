/**
 * What happens to each column of one CSV file, decided once from its header (contract §10): `drop` first, then
 * `hash` (of the original value), then `mask` (on the values not hashed).
 */
import { ColumnHash } from './csv-hash.js';
import type { Hmac32 } from './hmac.js';
import { Masker, masksFor } from './mask.js';
import { RedactionError, type EffectiveRules } from './types.js';

/** What happens to an input column (values of {@link CsvPlan.kinds}). */
export const DROP = 0;
export const KEEP = 1;
export const HASH = 2;
export const MASK = 3;

type Column =
  | { kind: typeof KEEP; index: number }
  | { kind: typeof HASH; index: number; hmac: Hmac32 }
  | { kind: typeof MASK; index: number; masker: Masker };

const NEEDS_QUOTES = /[",\r\n]/;

/** A field as RFC 4180 writes it (csv-stringify's quoting, as `CsvFileSplitter` writes a string). */
export function quoteField(text: string): string {
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
  /** Per input column: {@link DROP}, {@link KEEP}, {@link HASH} or {@link MASK}. */
  readonly kinds: Uint8Array;
  /** Per input column: its hash (for HASH), or undefined. */
  readonly hashes: (ColumnHash | undefined)[];
  /** Per input column: its masks (for MASK), or undefined. */
  readonly maskers: (Masker | undefined)[];
  /** The input index of the last column written (-1 when every column is dropped). */
  readonly lastKept: number;
  readonly #columns: Column[];
  readonly #hmac: Hmac32 | null;
  readonly #columnHashes: ColumnHash[] = [];
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
    this.#hmac = hmac;
    this.dropped = [...rules.drop].filter((name) => present.has(name));
    this.hashed = [...rules.hash].filter((name) => present.has(name));
    this.#columns = [];
    this.columns = [];
    this.kinds = new Uint8Array(names.length);
    this.hashes = names.map(() => undefined);
    this.maskers = names.map(() => undefined);
    let lastKept = -1;
    names.forEach((name, index) => {
      if (rules.drop.has(name)) return;
      this.columns.push(name);
      lastKept = index;
      if (rules.hash.has(name)) {
        if (hmac === null) throw new Error('internal: a hash rule without a key');
        this.kinds[index] = HASH;
        const hash = new ColumnHash(hmac, name);
        this.hashes[index] = hash;
        this.#columnHashes.push(hash);
        this.#columns.push({ kind: HASH, index, hmac });
        return;
      }
      const masks = masksFor(rules.mask, name);
      if (masks.length === 0) {
        this.kinds[index] = KEEP;
        this.#columns.push({ kind: KEEP, index });
        return;
      }
      const masker = new Masker(masks);
      this.kinds[index] = MASK;
      this.maskers[index] = masker;
      this.#columns.push({ kind: MASK, index, masker });
    });
    this.lastKept = lastKept;
    this.#out = new Array<string>(this.#columns.length).fill('');
  }

  /**
   * Hashes what the columns' hashes queued ({@link ColumnHash.write}): before the output buffer they write into
   * goes to the files, or the input bytes they read change.
   */
  flushHashes(): void {
    if (this.#hmac === null) return;
    this.#hmac.flush();
    for (const hash of this.#columnHashes) hash.commit();
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
      if (column.kind === KEEP) {
        out[c] = value;
      } else if (column.kind === HASH) {
        out[c] = value === '' ? value : column.hmac.digest(value);
      } else {
        const masked = column.masker.apply(value);
        if (masked !== value) this.masked++;
        out[c] = masked;
      }
    }
    return out;
  }
}
