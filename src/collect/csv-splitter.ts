/**
 * CsvFileSplitter (contract §2): CSV into one or more files, none larger than a byte limit, each starting with
 * the header line. Rows come in through `write()` (formatted by csv-stringify) or as ready CSV text through
 * `writable()` (a database's `COPY ... TO STDOUT WITH CSV HEADER`, say).
 *
 * Both paths end in the same router, which sees CSV text only as bytes: it looks for record ends (an LF outside
 * double quotes) with `indexOf` where it can and a byte loop where quotes are dense, and hands whole chunks
 * (subarrays, never copies) to the files. Nothing is ever parsed into fields.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify, type Options as StringifyOptions } from 'csv-stringify/sync';
import { messageOf } from '../errors.js';

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

/** Bytes queued for a file before they are written out in one `writev`. */
const FLUSH_BYTES = 1024 * 1024;
/** Rows are formatted in batches of about this many bytes (the batch length adapts to the row size). */
const ROW_BATCH_BYTES = 256 * 1024;
/** Buffer of `writable()`: enough for a few socket reads of a COPY stream. */
const WRITABLE_HIGH_WATER_MARK = 512 * 1024;
/** A first record longer than this is no CSV header line; stop before holding the whole input in memory. */
const MAX_HEADER_BYTES = 1024 * 1024;

const QUOTE = 0x22;
const LF = 0x0a;
const LF_BYTES = Buffer.from('\n');
const CRLF_BYTES = Buffer.from('\r\n');
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Writes CSV into one or more files so that no file exceeds `maxFileSize` bytes — unless a single record plus
 * the header is larger by itself; such a record goes alone into its own file. Every file starts with the header
 * line; a file is created only when a record goes into it, so there is never a file holding only the header,
 * and no file at all when no record was written. Files are created with mode 0600.
 *
 * Use one of two paths, not both:
 *
 * - **Rows**: `await write(row)` per row (an array in `columns` order, or an object keyed by `columns`),
 *   formatted by csv-stringify: RFC 4180 quoting, LF after every record. Values: strings as they are, numbers
 *   and bigints in decimal, booleans `true`/`false`, `Date`s as ISO 8601 (`toISOString()`), other objects as
 *   JSON, `null`/`undefined` as an empty field. `write()` resolves when the splitter can take more.
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
  #stringifyOptions: StringifyOptions | undefined;
  #rows: unknown[] = [];
  #batchRows = 64;
  #stream: Writable | undefined;
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
   * keys are ignored). Resolves once the splitter can take more; a row of the wrong shape rejects at once and
   * is not written. Rows are formatted in small batches, so a value csv-stringify cannot format rejects the
   * `write()` or `close()` that formats it.
   */
  write(row: readonly unknown[] | object): Promise<void> {
    const problem = this.#rowProblem(row);
    if (problem !== undefined) return Promise.reject(problem);
    this.#rows.push(row);
    return this.#rows.length < this.#batchRows ? RESOLVED : this.#flushRows();
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
    const accept = (chunks: Buffer[], callback: (error?: Error | null) => void): void => {
      try {
        for (const chunk of chunks) router.push(chunk);
      } catch (err) {
        callback(asError(err));
        return;
      }
      if (files.queuedBytes < FLUSH_BYTES) callback();
      else files.flush().then(() => callback(), callback);
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
    } else if (this.#use === 'rows') {
      if (this.#rows.length > 0) await this.#flushRows();
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
    if (this.#router === undefined) {
      const names = columns ?? Object.keys(row);
      if (names.length === 0) {
        return new TypeError(`CsvFileSplitter(${this.path}): the first row has no keys to use as columns; pass \`columns\``);
      }
      this.#startRows(names);
    }
    return undefined;
  }

  #startRows(columns: string[]): void {
    this.#columns = columns;
    this.#stringifyOptions = {
      header: false,
      eof: true,
      record_delimiter: '\n',
      quote_record_delimiter: true, // also quote a field holding a lone CR, as RFC 4180 readers expect
      columns: columns.map((name) => ({ key: [name], header: name })),
      cast: { boolean: (value) => (value ? 'true' : 'false'), date: (value) => value.toISOString() },
    };
    const header = Buffer.from(stringify([columns], this.#stringifyOptions));
    this.#router = new RecordRouter(this.#files, this.maxFileSize, header);
  }

  #flushRows(): Promise<void> {
    const rows = this.#rows;
    this.#rows = [];
    let text: Buffer;
    try {
      text = Buffer.from(stringify(rows, this.#stringifyOptions));
    } catch (err) {
      const error = new Error(`CsvFileSplitter(${this.path}): a row cannot be written as CSV: ${messageOf(err)}`, {
        cause: err,
      });
      return this.#files.abort(error).then(() => Promise.reject(error));
    }
    // Aim for batches of ROW_BATCH_BYTES: few large csv-stringify calls, little memory.
    const perRow = Math.max(1, text.length / rows.length);
    this.#batchRows = Math.min(4096, Math.max(1, Math.floor(ROW_BATCH_BYTES / perRow)));
    this.#router?.push(text);
    return this.#files.queuedBytes < FLUSH_BYTES ? RESOLVED : this.#files.flush();
  }
}

/** `dir/jobs.csv` for index 0, then `dir/jobs_1.csv`, `dir/jobs_2.csv`, … (`dir/jobs_1` without extension). */
export function splitFilePath(path: string, index: number): string {
  if (index === 0) return path;
  const ext = extname(path);
  const stem = basename(path, ext);
  return join(dirname(path), `${stem}_${index}${ext}`);
}

/**
 * Finds record ends in CSV bytes. A record ends at an LF outside double quotes. RFC 4180 escapes a quote inside
 * a quoted field by doubling it, so flipping the state on every quote byte gives the right state at every LF
 * (the two quotes of `""` cancel out), and the state carries over chunk boundaries in one boolean.
 */
class QuoteScanner {
  /** True while inside a quoted field at the end of what was scanned. */
  inQuotes = false;

  /** Index just past the first record end in `buf[from, to)`, or -1; the state moves to that point (or `to`). */
  first(buf: Buffer, from: number, to: number): number {
    let inQuotes = this.inQuotes;
    let i = from;
    if (!inQuotes) {
      const lf = buf.indexOf(LF, from);
      const quote = buf.indexOf(QUOTE, from);
      if (quote === -1 || quote >= to || (lf !== -1 && lf < quote)) return lf !== -1 && lf < to ? lf + 1 : -1;
      i = quote;
    }
    for (; i < to; i++) {
      const byte = buf[i];
      if (byte === QUOTE) inQuotes = !inQuotes;
      else if (byte === LF && !inQuotes) {
        this.inQuotes = false;
        return i + 1;
      }
    }
    this.inQuotes = inQuotes;
    return -1;
  }

  /** Index just past the last record end in `buf[from, to)`, or -1; the state moves to `to`. */
  last(buf: Buffer, from: number, to: number): number {
    if (from >= to) return -1;
    let inQuotes = this.inQuotes;
    const quote = buf.indexOf(QUOTE, from);
    if (quote === -1 || quote >= to) {
      // No quote: the common case for numeric tables, two memchr calls per chunk.
      if (inQuotes) return -1;
      const lf = buf.lastIndexOf(LF, to - 1);
      return lf >= from ? lf + 1 : -1;
    }
    let last = -1;
    if (!inQuotes && quote > from) {
      const lf = buf.lastIndexOf(LF, quote - 1);
      if (lf >= from) last = lf + 1;
    }
    // Quotes present: a plain byte loop beats one indexOf call per quote when fields are quoted.
    for (let i = quote; i < to; i++) {
      const byte = buf[i];
      if (byte === QUOTE) inQuotes = !inQuotes;
      else if (byte === LF && !inQuotes) last = i + 1;
    }
    this.inQuotes = inQuotes;
    return last;
  }
}

/**
 * Routes CSV bytes to numbered files: whole records only, each file below the limit unless its only record is
 * larger. The first record of a file goes there whatever its size, so it streams straight through; later
 * bytes are held until their record ends and it is known whether it fits.
 */
class RecordRouter {
  readonly #scanner = new QuoteScanner();
  readonly #files: SplitFiles;
  readonly #maxFileSize: number;
  #header: Buffer | undefined;
  #eol = LF_BYTES;
  #headerParts: Buffer[] = [];
  #headerBytes = 0;
  /** Bytes of the record in progress, not yet given to a file. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #fileStarted = false;
  #fileHasRecord = false;
  /** Bytes given to the current file, header included. */
  #fileBytes = 0;

  /** Without `header`, the first record of the input is the header. */
  constructor(files: SplitFiles, maxFileSize: number, header?: Buffer) {
    this.#files = files;
    this.#maxFileSize = maxFileSize;
    if (header !== undefined) this.#setHeader(header);
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let s = 0;
    if (this.#header === undefined) {
      s = this.#takeHeader(chunk);
      if (s === -1) return;
    }
    const scanner = this.#scanner;
    while (s < n) {
      if (!this.#fileHasRecord) {
        this.#startFile();
        const end = scanner.first(chunk, s, n);
        this.#give(chunk.subarray(s, end === -1 ? n : end));
        if (end === -1) return;
        this.#fileHasRecord = true;
        s = end;
        continue;
      }
      const room = this.#maxFileSize - this.#fileBytes - this.#heldBytes;
      if (n - s <= room) {
        const end = scanner.last(chunk, s, n);
        if (end !== -1) {
          this.#giveHeld();
          this.#give(chunk.subarray(s, end));
          s = end;
        }
        if (s < n) this.#hold(chunk.subarray(s));
        return;
      }
      // Not all of it fits: take the records that do, then the next record opens a new file.
      const before = scanner.inQuotes;
      const end = room > 0 ? scanner.last(chunk, s, s + room) : -1;
      if (end === -1) {
        scanner.inQuotes = before;
      } else {
        scanner.inQuotes = false; // a record end is outside quotes
        this.#giveHeld();
        this.#give(chunk.subarray(s, end));
        s = end;
      }
      this.#endFile();
      if (this.#heldBytes > 0) {
        this.#startFile();
        this.#giveHeld();
      }
    }
  }

  /** Ends the input: a last record without a line end gets one; the last file is ended. */
  end(): void {
    if (this.#header === undefined) return; // no complete header line: no record either
    if (this.#heldBytes > 0 || (this.#fileStarted && !this.#fileHasRecord)) {
      this.push(this.#eol);
      // Still open only when a quoted field was never closed; the record ends here all the same.
      if (this.#heldBytes > 0) {
        if (this.#fileBytes + this.#heldBytes > this.#maxFileSize) {
          this.#endFile();
          this.#startFile();
        }
        this.#giveHeld();
      }
    }
    this.#endFile();
  }

  #takeHeader(chunk: Buffer): number {
    const end = this.#scanner.first(chunk, 0, chunk.length);
    this.#headerParts.push(end === -1 ? chunk : chunk.subarray(0, end));
    this.#headerBytes += end === -1 ? chunk.length : end;
    if (this.#headerBytes > MAX_HEADER_BYTES) {
      throw new Error(
        `CsvFileSplitter(${this.#files.basePath}): no header line in the first ${MAX_HEADER_BYTES} bytes; ` +
          'writable() expects CSV text whose first record is the header',
      );
    }
    if (end === -1) return -1;
    this.#setHeader(Buffer.concat(this.#headerParts, this.#headerBytes));
    this.#headerParts = [];
    return end;
  }

  #setHeader(header: Buffer): void {
    this.#header = header;
    const n = header.length;
    this.#eol = n >= 2 && header[n - 2] === 0x0d && header[n - 1] === LF ? CRLF_BYTES : LF_BYTES;
  }

  #startFile(): void {
    if (this.#fileStarted || this.#header === undefined) return;
    this.#files.start(this.#header);
    this.#fileStarted = true;
    this.#fileBytes = this.#header.length;
  }

  #endFile(): void {
    if (this.#fileStarted) this.#files.end();
    this.#fileStarted = false;
    this.#fileHasRecord = false;
    this.#fileBytes = 0;
  }

  #give(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#files.append(bytes);
    this.#fileBytes += bytes.length;
  }

  #hold(bytes: Buffer): void {
    this.#held.push(bytes);
    this.#heldBytes += bytes.length;
  }

  #giveHeld(): void {
    for (const bytes of this.#held) this.#give(bytes);
    this.#held = [];
    this.#heldBytes = 0;
  }
}

interface Segment {
  path: string;
  chunks: Buffer[];
  /** The file is complete after these chunks: close it. */
  ended: boolean;
}

/**
 * The numbered files on disk. The router queues bytes synchronously; `flush()` writes them in order (one
 * `writev` per file per flush), opening each file on its first bytes and closing it when it ends. Flushes
 * run one after another. After a failure every file written is removed and every later call rejects.
 */
class SplitFiles {
  readonly basePath: string;
  /** Set once something failed; every later flush rejects with it. */
  failure: Error | undefined;
  #written: string[] = [];
  #segments: Segment[] = [];
  #queued = 0;
  #count = 0;
  #handle: FileHandle | undefined;
  #handlePath: string | undefined;
  #tail: Promise<void> = RESOLVED;

  constructor(basePath: string) {
    this.basePath = basePath;
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  /** Begins the next file with `header`. */
  start(header: Buffer): void {
    this.#segments.push({ path: splitFilePath(this.basePath, this.#count++), chunks: [header], ended: false });
    this.#queued += header.length;
  }

  append(bytes: Buffer): void {
    this.#segments[this.#segments.length - 1]?.chunks.push(bytes);
    this.#queued += bytes.length;
  }

  /** Ends the current file. */
  end(): void {
    const last = this.#segments[this.#segments.length - 1];
    if (last !== undefined) last.ended = true;
  }

  /** Writes everything queued so far. */
  flush(): Promise<void> {
    const segments = this.#segments;
    const last = segments[segments.length - 1];
    // The file being filled goes on in a fresh segment, so appends during the write land after it.
    this.#segments = last !== undefined && !last.ended ? [{ path: last.path, chunks: [], ended: false }] : [];
    this.#queued = 0;
    const run = this.#tail.then(() => this.#write(segments));
    this.#tail = run.then(noop, noop);
    return run;
  }

  /** Fails the splitter with `reason` (unless it failed already) and removes what it wrote. Never rejects. */
  abort(reason: Error): Promise<void> {
    this.failure ??= reason;
    this.#segments = [];
    this.#queued = 0;
    this.#tail = this.#tail.then(() => this.#removeAll());
    return this.#tail;
  }

  /** The files written, once everything is flushed; rejects if the splitter failed. */
  result(): string[] {
    if (this.failure !== undefined) throw this.failure;
    return [...this.#written];
  }

  async #write(segments: Segment[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    let path = this.basePath;
    try {
      for (const segment of segments) {
        path = segment.path;
        if (this.#handlePath !== path) {
          this.#handle = await open(path, 'wx', 0o600);
          this.#handlePath = path;
          this.#written.push(path);
        }
        const handle = this.#handle;
        if (handle === undefined) throw new Error('internal: no open file');
        if (segment.chunks.length > 0) await writeAll(handle, segment.chunks);
        if (segment.ended) {
          this.#handle = undefined;
          this.#handlePath = undefined;
          await handle.close();
        }
      }
    } catch (err) {
      this.failure ??= fileError(path, err);
      await this.#removeAll();
      throw this.failure;
    }
  }

  async #removeAll(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#handlePath = undefined;
    await handle?.close().catch(noop);
    const written = this.#written;
    this.#written = [];
    await Promise.all(written.map((path) => unlink(path).catch(noop)));
  }
}

async function writeAll(handle: FileHandle, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  for (;;) {
    const total = pending.reduce((sum, chunk) => sum + chunk.length, 0);
    const { bytesWritten } = await handle.writev(pending);
    if (bytesWritten >= total) return;
    if (bytesWritten === 0) throw new Error('the disk accepted no more bytes');
    // A short write (rare on regular files): go on with what is left.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const chunk of pending) {
      if (skip >= chunk.length) skip -= chunk.length;
      else {
        rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      }
    }
    pending = rest;
  }
}

function fileError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message =
    code === 'EEXIST'
      ? `CsvFileSplitter: ${path} already exists and is never overwritten; write into a fresh directory (ctx.outputDir) or choose another path`
      : `CsvFileSplitter: cannot write ${path}: ${messageOf(err)}`;
  return Object.assign(new Error(message, { cause: err }), code === undefined ? {} : { code });
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function noop(): void {}
