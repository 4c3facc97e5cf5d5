/**
 * Record boundaries in CSV bytes, without parsing fields: {@link QuoteScanner} finds LFs outside double quotes
 * (`indexOf`/`lastIndexOf` where there are no quotes, a byte loop where there are), and {@link RecordRouter}
 * hands whole records to the numbered files, each below the size limit unless its one record is larger.
 */
import type { SplitFiles } from './split-files.js';

/** A first record longer than this is no CSV header line; stop before holding the whole input in memory. */
const MAX_HEADER_BYTES = 1024 * 1024;

const QUOTE = 0x22;
const LF = 0x0a;
const LF_BYTES = Buffer.from('\n');
const CRLF_BYTES = Buffer.from('\r\n');

/**
 * Finds record ends in CSV bytes. A record ends at an LF outside double quotes. RFC 4180 escapes a quote inside
 * a quoted field by doubling it, so flipping the state on every quote byte gives the right state at every LF
 * (the two quotes of `""` cancel out), and the state carries over chunk boundaries in one boolean.
 */
export class QuoteScanner {
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
 * larger. Bytes go to the current file as they come, whole records or not, so that memory stays flat however long
 * a record is; when a record turns out not to fit where it started, the part of it already written moves to a
 * new file (read back from disk, see {@link SplitFiles.moveTail}), where it is the first record and streams on.
 */
export class RecordRouter {
  readonly #scanner = new QuoteScanner();
  readonly #files: SplitFiles;
  readonly #maxFileSize: number;
  #header: Buffer | undefined;
  #eol = LF_BYTES;
  #headerParts: Buffer[] = [];
  #headerBytes = 0;
  #fileStarted = false;
  #fileHasRecord = false;
  /** Bytes given to the current file, header included. */
  #fileBytes = 0;
  /** Where the record in progress began in the current file, or -1 at a record boundary. */
  #recordStart = -1;

  /** Without `header`, the first record of the input is the header. */
  constructor(files: SplitFiles, maxFileSize: number, header?: Buffer) {
    this.#files = files;
    this.#maxFileSize = maxFileSize;
    if (header !== undefined) this.#setHeader(header);
  }

  /** Bytes held back from the files: none (kept for callers that reuse buffers once they are written). */
  get heldBytes(): number {
    return 0;
  }

  push(chunk: Buffer): void {
    this.#route(chunk);
    // What can no longer move: the current file's bytes before the record in progress (all of them at a boundary).
    if (this.#fileStarted) this.#files.settled(this.#recordStart === -1 ? this.#fileBytes : this.#recordStart);
  }

  #route(chunk: Buffer): void {
    const n = chunk.length;
    let s = 0;
    if (this.#header === undefined) {
      s = this.#takeHeader(chunk);
      if (s === -1) return;
    }
    const scanner = this.#scanner;
    while (s < n) {
      if (!this.#fileHasRecord) {
        // A file's first record goes there whatever its size.
        this.#startFile();
        const end = scanner.first(chunk, s, n);
        this.#give(chunk.subarray(s, end === -1 ? n : end));
        if (end === -1) return;
        this.#fileHasRecord = true;
        s = end;
        continue;
      }
      const room = this.#maxFileSize - this.#fileBytes;
      if (n - s <= room) {
        const end = scanner.last(chunk, s, n);
        const at = this.#fileBytes;
        this.#give(chunk.subarray(s, n));
        if (end === n) this.#recordStart = -1;
        else if (end !== -1) this.#recordStart = at + (end - s);
        else if (this.#recordStart === -1) this.#recordStart = at;
        return;
      }
      // Not all of it fits: the records that end within the room stay, the next one opens a new file.
      const before = scanner.inQuotes;
      const end = room > 0 ? scanner.last(chunk, s, s + room) : -1;
      if (end === -1) {
        scanner.inQuotes = before;
      } else {
        scanner.inQuotes = false; // a record end is outside quotes
        this.#give(chunk.subarray(s, end));
        s = end;
        this.#recordStart = -1;
      }
      if (this.#recordStart === -1) {
        this.#endFile();
        continue;
      }
      // The record in progress started in this file but does not fit: it becomes the next file's first record.
      const moved = this.#fileBytes - this.#recordStart;
      this.#files.moveTail(this.#recordStart, this.#header!);
      this.#fileBytes = this.#header!.length + moved;
      this.#recordStart = -1;
      this.#fileHasRecord = false;
    }
  }

  /** Ends the input: a last record without a line end gets one; the last file is ended. */
  end(): void {
    if (this.#header === undefined) return; // no complete header line: no record either
    // A record still open after the line end only when a quoted field was never closed; it ends here all the same.
    if (this.#recordStart !== -1 || (this.#fileStarted && !this.#fileHasRecord)) this.push(this.#eol);
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
    this.#recordStart = -1;
  }

  #give(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#files.append(bytes);
    this.#fileBytes += bytes.length;
  }
}
