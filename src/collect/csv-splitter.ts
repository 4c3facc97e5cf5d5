/**
 * CsvFileSplitter (contract §2): CSV into one or more files, none larger than a byte limit, each starting with
 * the header line. Rows come in through `write()` or as ready CSV text through `writable()` (a database's
 * `COPY ... TO STDOUT WITH CSV HEADER`, say).
 *
 * Both paths end in the same router (csv-scan.ts), which sees CSV text only as bytes and hands whole records
 * to the files (split-files.ts). Rows are formatted one by one as they come, by a formatter that writes exactly
 * what csv-stringify writes with our options for the common value types (strings, numbers, bigints, booleans,
 * dates, null/undefined) and asks csv-stringify itself for any other row; the text goes into reused buffers.
 */
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify, type Options as StringifyOptions } from 'csv-stringify/sync';
import { messageOf } from '../errors.js';
import { dropped } from '../memory.js';
import { RecordRouter } from './csv-scan.js';
import { SplitFiles } from './split-files.js';

export { splitFilePath } from './split-files.js';

/** Options of {@link CsvFileSplitter}. */
export interface CsvFileSplitterOptions {
  /**
   * Path of the first file. Later files go in the same directory as `<stem>_1<ext>`, `<stem>_2<ext>`, …
   * (`jobs.csv`, `jobs_1.csv`, `jobs_2.csv`). No file is ever overwritten: an existing one is an error.
   */
  path: string;
  /** Largest size in bytes of one file, header included (usually `ctx.maxDataSize`). */
  maxFileSize: number;
  /**
   * Column names for `write()`: the header line, and the keys picked from object rows (plain keys; a dot is
   * part of the name). Without it, the keys of the first object row are used. Not used by `writable()`.
   */
  columns?: readonly string[];
}

/** Bytes queued for the files before they are written out in one `writev` per file. */
const FLUSH_BYTES = 1024 * 1024;
/** Rows are encoded into buffers of this size, reused once the files have written them. */
const ROW_CHUNK = 64 * 1024;
/**
 * Rows are written out (and the event loop turns, see #flushRows) every 256 KiB: often enough that the deflate
 * jobs keep both cores busy while a collector writes rows as fast as it can (every MiB, they stood still half the
 * time), seldom enough to cost nothing measurable.
 */
const ROW_FLUSH_BYTES = 256 * 1024;
/** Buffer of `writable()`: enough for a few socket reads of a COPY stream. */
const WRITABLE_HIGH_WATER_MARK = 512 * 1024;
const RESOLVED: Promise<void> = Promise.resolve();
/** Resolves after the event loop has polled for I/O (setImmediate runs after the poll phase). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Writes CSV into one or more files so that no file exceeds `maxFileSize` bytes — unless a single record plus
 * the header is larger by itself; such a record goes alone into its own file. Every file starts with the header
 * line; a file is created only when a record goes into it, so there is never a file holding only the header,
 * and no file at all when no record was written. Files are created with mode 0600.
 *
 * Use one of two paths, not both:
 *
 * - **Rows**: `await write(row)` per row (an array in `columns` order, or an object keyed by `columns`),
 *   formatted exactly as csv-stringify does: RFC 4180 quoting, LF after every record. Values: strings as they
 *   are, numbers and bigints in decimal, booleans `true`/`false`, `Date`s as ISO 8601 (`toISOString()`), other
 *   objects as JSON, `null`/`undefined` as an empty field. `write()` resolves when the splitter can take more.
 * - **CSV text**: `pipeline(source, splitter.writable())` for CSV that is already formatted. Its first record
 *   is the header and is repeated at the top of every file; records are not parsed, only split between them
 *   (an LF outside double quotes ends a record, so quoted fields may hold newlines; CRLF line ends are kept as
 *   they are); a last record without a line end gets one. The stream applies backpressure, so memory stays
 *   flat however large the input.
 *
 * `close()` ends either path and returns the files written, in order. On any error (a full disk, a bad row,
 * a destroyed stream) the files written so far are removed and `write()`/`close()`/the stream reject with it.
 *
 * @example
 * const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'jobs.csv'), maxFileSize: ctx.maxDataSize,
 *   columns: ['id', 'created', 'name'] });
 * for await (const row of rows) await out.write(row);
 * return out.close();
 */
export class CsvFileSplitter {
  /** Path of the first file. */
  readonly path: string;
  /** Largest size in bytes of one file, header included. */
  readonly maxFileSize: number;
  readonly #files: SplitFiles;
  #router: RecordRouter | undefined;
  #use: 'none' | 'rows' | 'writable' = 'none';
  #columns: string[] | undefined;
  #format: RowFormat | undefined;
  /** Text of the rows not yet handed to the router: `#chunk[0, #at)`. */
  #chunk: Buffer | undefined;
  #at = 0;
  /** Chunks handed to the router since the last flush; chunks free to take again. */
  #handed: Buffer[] = [];
  #spare: Buffer[] = [];
  #stream: Writable | undefined;
  /** The rows' flush in flight (settled, never rejecting), if any. */
  #flushing: Promise<void> | undefined;
  #closing: Promise<string[]> | undefined;

  constructor(options: CsvFileSplitterOptions) {
    const { path, maxFileSize, columns } = options;
    if (typeof path !== 'string' || path === '') throw new TypeError('CsvFileSplitter: `path` must be a file path');
    if (!Number.isSafeInteger(maxFileSize) || maxFileSize <= 0) {
      throw new RangeError(`CsvFileSplitter(${path}): \`maxFileSize\` must be a positive integer, got ${maxFileSize}`);
    }
    if (columns !== undefined && (!Array.isArray(columns) || columns.length === 0 || !columns.every(isString))) {
      throw new TypeError(`CsvFileSplitter(${path}): \`columns\` must be a non-empty array of strings`);
    }
    this.path = path;
    this.maxFileSize = maxFileSize;
    this.#columns = columns === undefined ? undefined : [...columns];
    this.#files = new SplitFiles(path);
  }

  /**
   * Adds one row: an array with one value per column, or an object whose `columns` keys are written (other
   * keys are ignored). Resolves once the splitter can take more. A row of the wrong shape rejects at once and
   * is not written; a value that cannot be written as CSV rejects and fails the splitter.
   */
  write(row: readonly unknown[] | object): Promise<void> {
    const problem = this.#rowProblem(row);
    if (problem !== undefined) return Promise.reject(problem);
    const format = this.#format!;
    const chunk = this.#chunk;
    // The common case: the record's bytes go straight into the current chunk. Anything else (a chunk too full,
    // a value of another type, a long or non-ASCII text) takes the string path, which gives the same bytes.
    const end = chunk === undefined ? -1 : format.encode(row, chunk, this.#at);
    if (end >= 0) {
      this.#at = end;
    } else {
      let line: string;
      try {
        line = format.line(row);
      } catch (err) {
        const error = new Error(`CsvFileSplitter(${this.path}): a row cannot be written as CSV: ${messageOf(err)}`, {
          cause: err,
        });
        return this.#files.abort(error).then(() => Promise.reject(error));
      }
      this.#append(line);
    }
    return this.#files.queuedBytes < ROW_FLUSH_BYTES ? RESOLVED : this.#flushRows();
  }

  /**
   * A `Writable` to `pipeline()` CSV text into (bytes or strings, UTF-8). Its first record is the header.
   * Call at most once, and not together with `write()`.
   */
  writable(): Writable {
    this.#choose('writable');
    const router = new RecordRouter(this.#files, this.maxFileSize);
    this.#router = router;
    const files = this.#files;
    let ended = false;
    /** Chunks pushed since the last flush: given up once it wrote them (src/memory.ts). */
    let unflushed: Buffer[] = [];
    const accept = (chunks: Buffer[], callback: (error?: Error | null) => void): void => {
      try {
        for (const chunk of chunks) router.push(chunk);
      } catch (err) {
        callback(asError(err));
        return;
      }
      unflushed.push(...chunks);
      if (files.queuedBytes < FLUSH_BYTES) {
        callback();
        return;
      }
      const written = unflushed;
      unflushed = [];
      files.flush().then(() => {
        dropped(written);
        callback();
      }, callback);
    };
    this.#stream = new Writable({
      highWaterMark: WRITABLE_HIGH_WATER_MARK,
      write: (chunk: Buffer, _encoding, callback) => accept([chunk], callback),
      writev: (chunks, callback) => accept(chunks.map((c) => c.chunk as Buffer), callback),
      final: (callback) => {
        try {
          router.end();
        } catch (err) {
          callback(asError(err));
          return;
        }
        files.flush().then(() => {
          ended = true;
          callback();
        }, callback);
      },
      destroy: (err, callback) => {
        if (ended) {
          callback(err);
          return;
        }
        const reason = err ?? new Error(`CsvFileSplitter(${this.path}): the writable was destroyed before it ended`);
        void files.abort(reason).then(() => callback(err));
      },
    });
    return this.#stream;
  }

  /**
   * Ends the input (either path), writes what is left and resolves to the files written, in order; `[]` when
   * no record was written. Calling it again returns the same promise.
   */
  close(): Promise<string[]> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<string[]> {
    const stream = this.#stream;
    if (stream !== undefined) {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
      await finished(stream).catch((err: unknown) => {
        throw this.#files.failure ?? err;
      });
    } else if (this.#use === 'rows' && this.#files.failure === undefined) {
      this.#handChunk();
      this.#router?.end();
      await this.#files.flush();
    }
    return this.#files.result();
  }

  #choose(use: 'rows' | 'writable'): void {
    if (this.#closing !== undefined) throw new Error(`CsvFileSplitter(${this.path}) is closed`);
    if (this.#use === use && use === 'rows') return;
    if (this.#use === 'writable') {
      throw new Error(`CsvFileSplitter(${this.path}): writable() was already called; use it once, not with write()`);
    }
    if (this.#use === 'rows') {
      throw new Error(`CsvFileSplitter(${this.path}): rows were written with write(); use write() or writable(), not both`);
    }
    this.#use = use;
  }

  /** Why `row` cannot be taken (the splitter stays usable), or undefined; sets up the rows path on first use. */
  #rowProblem(row: unknown): Error | undefined {
    try {
      this.#choose('rows');
    } catch (err) {
      return asError(err);
    }
    const failure = this.#files.failure;
    if (failure !== undefined) return failure;
    const columns = this.#columns;
    if (Array.isArray(row)) {
      if (columns === undefined) {
        return new TypeError(`CsvFileSplitter(${this.path}): pass \`columns\` to write array rows (every file starts with the header line)`);
      }
      if (row.length !== columns.length) {
        return new RangeError(`CsvFileSplitter(${this.path}): row has ${row.length} values but there are ${columns.length} columns`);
      }
    } else if (typeof row !== 'object' || row === null) {
      return new TypeError(`CsvFileSplitter(${this.path}): a row must be an array or an object, got ${row === null ? 'null' : typeof row}`);
    }
    if (this.#format === undefined) {
      const names = columns ?? Object.keys(row);
      if (names.length === 0) {
        return new TypeError(`CsvFileSplitter(${this.path}): the first row has no keys to use as columns; pass \`columns\``);
      }
      this.#columns = names;
      this.#format = new RowFormat(names);
      this.#router = new RecordRouter(this.#files, this.maxFileSize, this.#format.header);
    }
    return undefined;
  }

  /** Encodes a row's text into the current chunk; a full chunk goes to the router. */
  #append(line: string): void {
    let chunk = this.#chunk;
    const room = chunk === undefined ? 0 : chunk.length - this.#at;
    // At most 3 UTF-8 bytes per UTF-16 unit: measure only when that bound does not settle it.
    if (line.length * 3 > room && Buffer.byteLength(line) > room) {
      this.#handChunk();
      if (line.length * 3 > ROW_CHUNK && Buffer.byteLength(line) > ROW_CHUNK) {
        this.#router!.push(Buffer.from(line)); // a row larger than a chunk goes on its own
        return;
      }
      chunk = this.#spare.pop() ?? Buffer.allocUnsafeSlow(ROW_CHUNK);
      this.#chunk = chunk;
    }
    this.#at += chunk!.write(line, this.#at);
  }

  #handChunk(): void {
    const chunk = this.#chunk;
    if (chunk === undefined || this.#at === 0) return;
    this.#router!.push(chunk.subarray(0, this.#at));
    this.#handed.push(chunk);
    this.#chunk = undefined;
    this.#at = 0;
  }

  /**
   * Writes out what is queued; the chunks it came from are free again once written. One flush stays in flight
   * while the next rows are formatted (double buffering): the caller waits only for the flush before this one, so
   * formatting and the disk overlap, and at most two flushes' worth of rows are held.
   */
  #flushRows(): Promise<void> {
    const handed = this.#handed;
    this.#handed = [];
    // Rows end in LF, so the router holds nothing back; if it ever did, those chunks are left to the GC.
    const reusable = this.#router!.heldBytes === 0;
    const previous = this.#flushing;
    const current = this.#files.flush().then(() => {
      if (reusable) this.#spare.push(...handed);
    });
    // A failure is kept by the files (`failure`) and reported by the next write() or close().
    this.#flushing = current.catch(() => undefined);
    // Then a turn of the event loop. A collector writing rows in a loop otherwise runs on microtasks alone for as
    // long as the disk keeps up: the thread pool's deflate jobs, which need this thread to hand over each piece,
    // stand still meanwhile, and the compression piles up at the end.
    return (previous ?? RESOLVED).then(nextTurn);
  }
}

/**
 * Formats rows exactly as csv-stringify does with {@link RowFormat.options}: strings as they are, quoted when
 * they hold `"`, `,`, CR or LF (quotes doubled); numbers and bigints in decimal; booleans `true`/`false`; dates
 * by `toISOString()`; null and undefined as an empty field. A row holding any other value (an object, a
 * symbol, a date that cannot be printed) is given to csv-stringify itself, so the output — or the error — is
 * always csv-stringify's. A test checks the two agree on random rows.
 */
class RowFormat {
  /** The header line. */
  readonly header: Buffer;
  /** csv-stringify options for one row, header not included. */
  readonly options: StringifyOptions;
  readonly #columns: string[];

  constructor(columns: string[]) {
    this.#columns = columns;
    this.options = {
      header: false,
      eof: true,
      record_delimiter: '\n',
      quote_record_delimiter: true, // also quote a field holding a lone CR, as RFC 4180 readers expect
      // A key given as a path of one name: a dot in a column name is part of the name.
      columns: columns.map((name) => ({ key: [name], header: name })),
      cast: { boolean: (value) => (value ? 'true' : 'false'), date: (value) => value.toISOString() },
    };
    this.header = Buffer.from(stringify([columns], this.options));
  }

  /**
   * Writes the row's record, LF included, into `buf` from `at` and returns where it ends; -1 (nothing taken)
   * when it must go through {@link line}: a value of another type, a date toISOString() would not write with
   * a 4-digit year, a text that is long or needs more than a byte-for-byte copy, or not enough room left.
   * The bytes are those `line()` would give: numbers as JSON.stringify writes them (integers digit by digit),
   * dates as toISOString(), texts that need no quotes as they are.
   */
  encode(row: readonly unknown[] | object, buf: Buffer, at: number): number {
    const columns = this.#columns;
    const values = Array.isArray(row) ? (row as readonly unknown[]) : undefined;
    const limit = buf.length;
    let to = at;
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) {
        if (to >= limit) return -1;
        buf[to++] = COMMA;
      }
      const value = values === undefined ? (row as Record<string, unknown>)[columns[i]!] : values[i];
      switch (typeof value) {
        case 'string':
          to = copyPlainText(value, buf, to, limit);
          break;
        case 'number':
          to = Number.isSafeInteger(value) ? writeInteger(value, buf, to, limit) : writeNumber(value, buf, to, limit);
          break;
        case 'boolean':
          to = copyPlainText(value ? 'true' : 'false', buf, to, limit);
          break;
        case 'undefined':
          break;
        case 'object':
          if (value === null) break;
          if (!(value instanceof Date) || value.toISOString !== nativeToISOString) return -1;
          to = writeIsoDate(value.getTime(), buf, to, limit);
          break;
        default:
          return -1;
      }
      if (to < 0) return -1;
    }
    if (to >= limit) return -1;
    buf[to++] = LF;
    return to;
  }

  /** The row's record, LF included. Throws what csv-stringify throws for a value it cannot write. */
  line(row: readonly unknown[] | object): string {
    const columns = this.#columns;
    const values = Array.isArray(row) ? (row as readonly unknown[]) : undefined;
    let line = '';
    for (let i = 0; i < columns.length; i++) {
      const text = fieldText(values === undefined ? (row as Record<string, unknown>)[columns[i]!] : values[i]);
      if (text === undefined) return stringify([row], this.options);
      line = i === 0 ? text : `${line},${text}`;
    }
    return `${line}\n`;
  }
}

const NEEDS_QUOTES = /[",\r\n]/;

/** A field's text, or undefined when csv-stringify must decide. */
function fieldText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return quoteIfNeeded(value);
    case 'number':
      // Same text for a finite number (the spec's Number::toString), but String() goes through V8's
      // number-string cache, which keeps each result alive long enough to be promoted to the old generation:
      // a table of numbers would grow the heap until a full GC. JSON.stringify does not cache.
      return Number.isFinite(value) ? JSON.stringify(value) : `${value}`;
    case 'bigint':
      return `${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return '';
    case 'object': {
      if (value === null) return '';
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) return undefined;
      if (value.toISOString === nativeToISOString) return isoDate(value);
      const iso: unknown = value.toISOString();
      return typeof iso === 'string' ? quoteIfNeeded(iso) : undefined;
    }
    default:
      return undefined;
  }
}

const COMMA = 0x2c;
const LF = 0x0a;
const QUOTE = 0x22;
const CR = 0x0d;
/** Texts longer than this go through the string path (a byte-for-byte copy is a loop in JavaScript). */
const COPY_MAX = 256;

/**
 * Copies a text that needs no quotes and is ASCII into `buf`, returning where it ends; -1 for any other text
 * (or no room), which the string path then writes. Checking and copying are one pass.
 */
function copyPlainText(text: string, buf: Buffer, at: number, limit: number): number {
  const length = text.length;
  if (length > COPY_MAX || at + length > limit) return -1;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80 || c === QUOTE || c === COMMA || c === LF || c === CR) return -1;
    buf[at + i] = c;
  }
  return at + length;
}

/** A safe integer in decimal, as JSON.stringify writes it (-0 as `0`). */
function writeInteger(value: number, buf: Buffer, at: number, limit: number): number {
  let n = value;
  if (n < 0) {
    if (at >= limit) return -1;
    buf[at++] = 0x2d; // '-'
    n = -n;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++; // powers of ten are exact doubles up to 1e22: safe integers have 16 digits at most
  const end = at + digits;
  if (end > limit) return -1;
  let i = end - 1;
  // Digits in double arithmetic only while the rest is beyond int32: `%` on a double is a call into C, on an
  // int32 one machine instruction (this is most of the cost of an id column).
  for (; n > 0x7fffffff; i--) {
    const d = n % 10;
    buf[i] = 0x30 + d;
    n = (n - d) / 10;
  }
  let m = n | 0;
  for (; i >= at; i--) {
    const q = (m / 10) | 0;
    buf[i] = 0x30 + (m - q * 10);
    m = q;
  }
  return end;
}

/**
 * A number that is not a safe integer, as JSON.stringify writes it. Amounts with at most two decimals (prices,
 * percentages) are written from their hundredths: when `k = round(value × 100)` gives back `value` as `k / 100`
 * and has at most 15 digits, `value` is the double nearest to the decimal k/100, and a decimal of at most 15
 * significant digits is the only one that short to round-trip to it — so it is the shortest form JavaScript prints
 * (trailing zeros dropped). Anything else goes through JSON.stringify.
 */
function writeNumber(value: number, buf: Buffer, at: number, limit: number): number {
  const hundredths = Math.round(value * 100);
  if (hundredths / 100 !== value || !(Math.abs(hundredths) < 1e15)) return copyPlainText(fieldText(value)!, buf, at, limit);
  let to = at;
  let k = hundredths;
  if (k < 0) {
    if (to >= limit) return -1;
    buf[to++] = 0x2d; // '-'
    k = -k;
  }
  const cents = k % 100;
  to = writeInteger((k - cents) / 100, buf, to, limit);
  if (to < 0 || to + 3 > limit) return -1;
  const c = cents | 0;
  const tens = (c / 10) | 0;
  buf[to++] = 0x2e; // '.'
  buf[to++] = 0x30 + tens;
  if (c !== tens * 10) buf[to++] = 0x30 + (c - tens * 10);
  return to;
}

/**
 * A date as toISOString() writes it, for years 0000–9999 (else -1): the `YYYY-MM-DDT` part is computed by
 * toISOString() once per day and kept, the time of day by arithmetic.
 */
function writeIsoDate(ms: number, buf: Buffer, at: number, limit: number): number {
  if (!(ms >= FIRST_ISO_MS && ms < END_ISO_MS) || at + 24 > limit) return -1;
  const day = Math.floor(ms / MS_PER_DAY);
  if (day !== isoDay) {
    isoDay = day;
    isoDayPrefix = nativeToISOString.call(new Date(ms)).slice(0, 11);
  }
  const prefix = isoDayPrefix;
  for (let i = 0; i < 11; i++) buf[at + i] = prefix.charCodeAt(i);
  // The time of day fits in int32: integer division and remainder instead of double ones (half the cost).
  let rest = (ms - day * MS_PER_DAY) | 0;
  const millis = rest % 1000;
  rest = (rest / 1000) | 0;
  const seconds = rest % 60;
  rest = (rest / 60) | 0;
  const minutes = rest % 60;
  const hours = (rest / 60) | 0;
  buf[at + 11] = 0x30 + ((hours / 10) | 0);
  buf[at + 12] = 0x30 + (hours % 10);
  buf[at + 13] = 0x3a; // ':'
  buf[at + 14] = 0x30 + ((minutes / 10) | 0);
  buf[at + 15] = 0x30 + (minutes % 10);
  buf[at + 16] = 0x3a;
  buf[at + 17] = 0x30 + ((seconds / 10) | 0);
  buf[at + 18] = 0x30 + (seconds % 10);
  buf[at + 19] = 0x2e; // '.'
  buf[at + 20] = 0x30 + ((millis / 100) | 0);
  buf[at + 21] = 0x30 + (((millis / 10) | 0) % 10);
  buf[at + 22] = 0x30 + (millis % 10);
  buf[at + 23] = 0x5a; // 'Z'
  return at + 24;
}

const nativeToISOString = Date.prototype.toISOString;
const MS_PER_DAY = 86_400_000;
/** Dates from 0000-01-01 to 9999-12-31: toISOString() writes them with a 4-digit year. */
const FIRST_ISO_MS = -62_167_219_200_000;
const END_ISO_MS = 253_402_300_800_000;
let isoDay = Number.NaN;
let isoDayPrefix = '';

const ISO_SCRATCH = Buffer.alloc(24);

/**
 * `date.toISOString()`, four times faster for the rows of a table (see writeIsoDate()). Same output for every
 * date: one with a 6-digit year comes from toISOString() itself.
 */
function isoDate(date: Date): string {
  return writeIsoDate(date.getTime(), ISO_SCRATCH, 0, 24) < 0 ? nativeToISOString.call(date) : ISO_SCRATCH.toString('latin1', 0, 24);
}

function quoteIfNeeded(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
