/**
 * Redaction of one CSV file, streaming: the file is read in chunks, cut into whole records (a quoted field may
 * hold commas, quotes, CR and LF, and a record may cross any chunk boundary), each record is redacted by the
 * {@link CsvPlan} its header made, and written through the splitter's router and files ({@link CsvOut}), so no
 * output file exceeds the size limit. Memory holds a chunk and one record at a time, whatever the file's size.
 *
 * Records are redacted on their bytes ({@link ByteRecords}: fields copied, hashed or masked without a string per
 * field); the text path — decode, parse into strings, format as `CsvFileSplitter` formats a row — takes the
 * header, bytes that are not valid UTF-8 (decoding replaces what is invalid, and so must the output), and a
 * record the byte path stops at, to report it. Both write the same bytes for the same record.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { ByteRecords } from './csv-bytes.js';
import { CsvOut } from './csv-out.js';
import { CsvSyntaxError, RecordEnds, RecordReader } from './csv-records.js';
import { CsvPlan, quoteField } from './csv-plan.js';
import type { Hmac32 } from './hmac.js';
import { RedactionError, type EffectiveRules } from './types.js';

/**
 * Read size of the collector's file. Small enough that a chunk's decoded text stays below V8's large-object size
 * (128 KiB), so it dies young instead of piling up in the large-object space until a full GC.
 */
const READ_CHUNK = 64 * 1024;
/** A record (or a quote never closed) longer than this cannot be redacted: it would have to be held whole. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export interface CsvFileInput {
  /** The collector's file. */
  source: string;
  /** Path of the first output file (`x.csv`; more are `x_1.csv`, …). */
  target: string;
  maxFileSize: number;
  rules: EffectiveRules;
  hmac: Hmac32 | null;
  /** Collector key, for the rule's path in errors. */
  key: string;
  /** How errors name the file (the name the collector gave it). */
  where: string;
  signal?: AbortSignal;
  /** Read size of `source` (tests use tiny ones so that records cross chunk boundaries everywhere). */
  readChunk?: number;
  /**
   * Reads `source` with blocking reads, straight into the record buffer: for the redaction thread, where nothing
   * else waits for the event loop (fewer turns and no copy; the files' writes still go on meanwhile).
   */
  blocking?: boolean;
}

export interface CsvFileResult {
  files: string[];
  dropped: string[];
  hashed: string[];
  masked: number;
}

/** Redacts `source` into new files; throws {@link RedactionError} (a one-line reason) when it cannot. */
export async function redactCsvFile(input: CsvFileInput): Promise<CsvFileResult> {
  const redactor = new CsvRedactor(input);
  try {
    const read = input.blocking === true ? readRecordsBlocking : readRecords;
    const unclosed = await read(input, (records) => redactor.records(records));
    // After the records: the reader names what is wrong more precisely than the quote count.
    if (unclosed) throw new CsvSyntaxError('a quoted field is not closed before the end of the file');
  } catch (err) {
    await redactor.abandon(err instanceof Error ? err : new Error(String(err)));
    if (err instanceof CsvSyntaxError) throw new RedactionError(`${input.where} is not valid CSV, so it cannot be redacted: ${err.message}`);
    throw err;
  }
  let files = await redactor.close();
  const plan = redactor.plan;
  if (files.length === 0 && plan !== undefined && !plan.empty) {
    // A header without records: keep it, as the collector's file had it.
    await writeFile(input.target, plan.header, { mode: 0o600, flag: 'wx' });
    files = [input.target];
  }
  return { files, dropped: plan?.dropped ?? [], hashed: plan?.hashed ?? [], masked: plan?.masked ?? 0 };
}

/**
 * Reads `input.source` and hands `onRecords` the bytes of whole records, in order (the last may lack its line
 * end). The next chunk is read while the records of the one before are redacted (a read waits for a thread of
 * libuv's pool: a fifth of the time, measured, when it did not overlap). Two buffers are reused for the whole
 * file: a chunk is read into one and appended to what followed the last record end in the other; that one
 * doubles only for a record longer than itself. So reading allocates nothing per chunk.
 */
/** Returns true when the file ends inside a quoted field. */
async function readRecords(input: CsvFileInput, onRecords: (bytes: Buffer) => Promise<void>): Promise<boolean> {
  const ends = new RecordEnds();
  const chunk = input.readChunk ?? READ_CHUNK;
  const next = readBuffer(chunk);
  let buf = readBuffer(chunk * 2);
  let filled = 0;
  const handle = await open(input.source, 'r');
  let reading: Promise<{ bytesRead: number }> | undefined;
  try {
    reading = handle.read(next, 0, chunk, null);
    for (;;) {
      const { bytesRead } = await reading;
      reading = undefined;
      input.signal?.throwIfAborted();
      if (bytesRead === 0) break;
      buf = withRoom(buf, filled, bytesRead, input.where);
      next.copy(buf, filled, 0, bytesRead);
      reading = handle.read(next, 0, chunk, null);
      filled = await takeRecords(buf, filled, filled + bytesRead, ends, onRecords);
    }
    return await takeRest(buf, filled, ends, onRecords);
  } finally {
    // A read still in flight writes into `next`: it ends before the file is closed.
    await reading?.catch(() => undefined);
    await handle.close();
    keepReadBuffers(next, buf);
  }
}

/**
 * {@link readRecords} with blocking reads, each chunk read straight after what followed the last record end. One
 * buffer, reused for the whole file: it doubles only for a record longer than itself.
 */
async function readRecordsBlocking(input: CsvFileInput, onRecords: (bytes: Buffer) => Promise<void>): Promise<boolean> {
  const ends = new RecordEnds();
  const chunk = input.readChunk ?? READ_CHUNK;
  let buf = readBuffer(chunk * 2);
  let filled = 0;
  const fd = openSync(input.source, 'r');
  try {
    for (;;) {
      input.signal?.throwIfAborted();
      // Never past the longest record: reading on is then only to tell whether the file goes on (see withRoom).
      const want = Math.min(chunk, MAX_RECORD_BYTES - filled);
      if (want === 0) {
        if (readSync(fd, Buffer.alloc(1), 0, 1, null) === 0) break;
        withRoom(buf, filled, 1, input.where); // throws
      }
      buf = withRoom(buf, filled, want, input.where);
      const bytesRead = readSync(fd, buf, filled, want, null);
      if (bytesRead === 0) break;
      filled = await takeRecords(buf, filled, filled + bytesRead, ends, onRecords);
    }
    return await takeRest(buf, filled, ends, onRecords);
  } finally {
    closeSync(fd);
    keepReadBuffers(buf);
  }
}

/**
 * Hands `onRecords` the whole records in `buf`'s first `filled` bytes (new bytes from `from` on, the ones before
 * hold no record end) and moves what follows the last record end to the front; returns how many bytes that is.
 */
async function takeRecords(
  buf: Buffer,
  from: number,
  filled: number,
  ends: RecordEnds,
  onRecords: (bytes: Buffer) => Promise<void>,
): Promise<number> {
  const end = ends.last(buf.subarray(from, filled));
  if (end === -1) return filled;
  const cut = from + end;
  await onRecords(buf.subarray(0, cut));
  buf.copyWithin(0, cut, filled);
  return filled - cut;
}

/** At the end of the file: the last record (it may lack its line end); true when the file ends inside quotes. */
async function takeRest(buf: Buffer, filled: number, ends: RecordEnds, onRecords: (bytes: Buffer) => Promise<void>): Promise<boolean> {
  if (filled > 0) await onRecords(buf.subarray(0, filled));
  return ends.inQuotes;
}

/** Keeps read buffers for the next file, unless one grew for a long record; two at most. */
function keepReadBuffers(...buffers: Buffer[]): void {
  for (const b of buffers) if (b.length <= 2 * READ_CHUNK) READ_BUFFERS.push(b);
  READ_BUFFERS.splice(0, READ_BUFFERS.length - 2);
}

/** `buf`, or a bigger copy of its first `filled` bytes, with room for `more` bytes after them. */
function withRoom(buf: Buffer, filled: number, more: number, where: string): Buffer {
  if (filled + more <= buf.length) return buf;
  if (filled + more > MAX_RECORD_BYTES) {
    throw new RedactionError(
      `${where}: no record end in ${MAX_RECORD_BYTES / 1024 / 1024} MiB (a record that large, or a quote never closed): it cannot be redacted`,
    );
  }
  const bigger = Buffer.allocUnsafeSlow(Math.min(Math.max(buf.length * 2, filled + more), MAX_RECORD_BYTES));
  buf.copy(bigger, 0, 0, filled);
  return bigger;
}

/** The two read buffers of the last file, for the next (see csv-out.ts: the redaction thread rarely collects). */
const READ_BUFFERS: Buffer[] = [];

/** A buffer of `size` bytes from {@link READ_BUFFERS}, or a new one. */
function readBuffer(size: number): Buffer {
  const at = READ_BUFFERS.findIndex((b) => b.length === size);
  return at === -1 ? Buffer.allocUnsafeSlow(size) : READ_BUFFERS.splice(at, 1)[0]!;
}

/** The byte order mark, UTF-8: not part of the first column's name. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * CSV bytes in, redacted records out. Records go the fast way ({@link ByteRecords}) when their bytes are valid
 * UTF-8, else — and from a record the fast path does not take (one to report) — the text way: decoded, parsed
 * into strings ({@link RecordReader}), redacted by the plan and formatted as `CsvFileSplitter` formats a row.
 */
class CsvRedactor {
  plan: CsvPlan | undefined;
  readonly #input: CsvFileInput;
  readonly #reader = new RecordReader();
  #out: CsvOut | undefined;
  #bytes: ByteRecords | undefined;
  /** Records read by the text path, the header included. */
  #count = 0;
  #first = true;

  constructor(input: CsvFileInput) {
    this.#input = input;
  }

  /** The files written; [] when no record was. */
  close(): Promise<string[]> {
    return this.#out?.close() ?? Promise.resolve([]);
  }

  /** After a failure: what was written is removed. */
  async abandon(reason: Error): Promise<void> {
    await this.#out?.abandon(reason);
  }

  /** Redacts whole records. `bytes` is read before the first await: the caller may reuse it after. */
  async records(bytes: Buffer): Promise<void> {
    let start = 0;
    const end = bytes.length;
    if (this.#first) {
      this.#first = false;
      if (bytes.subarray(0, 3).equals(BOM)) start = 3;
      // The header, by the text path: it makes the plan.
      const headerEnd = firstRecordEnd(bytes, start);
      this.#text(bytes.toString('utf8', start, headerEnd));
      start = headerEnd;
    }
    const fast = this.#bytes;
    if (fast !== undefined && start < end && isUtf8(bytes.subarray(start, end))) start = fast.records(bytes, start, end);
    if (start < end) this.#text(bytes.toString('utf8', start, end));
    await this.#out?.drain();
  }

  /** The text path, for the decoded text of whole records. */
  #text(text: string): void {
    const reader = this.#reader;
    reader.reset(text);
    while (!reader.done) {
      this.#count++;
      try {
        reader.next();
      } catch (err) {
        if (err instanceof CsvSyntaxError) throw new CsvSyntaxError(`${this.#where()}: ${err.message}`);
        throw err;
      }
      const plan = this.plan;
      if (plan === undefined) {
        this.#start(reader.fields);
        continue;
      }
      if (reader.fields.length !== plan.width) {
        throw new CsvSyntaxError(`${this.#where()}: ${reader.fields.length} fields where the header has ${plan.width}`);
      }
      if (this.#out !== undefined) this.#out.writeText(`${plan.record(reader.fields).map(quoteField).join(',')}\n`);
    }
  }

  #start(header: readonly string[]): void {
    const { rules, hmac, where, key, target, maxFileSize } = this.#input;
    const plan = new CsvPlan(header, rules, hmac, where, key);
    this.plan = plan;
    if (plan.empty) return;
    this.#out = new CsvOut(target, maxFileSize, Buffer.from(plan.header));
    this.#bytes = new ByteRecords(plan, this.#out);
  }

  /** Where the current record is: `record N` (1 is the first after the header) or `the header`. */
  #where(): string {
    const count = this.#count + (this.#bytes?.count ?? 0);
    return count === 1 ? 'the header' : `record ${count - 1}`;
  }
}

/** Index just past the first LF outside double quotes in `bytes` from `start`, or the end. */
function firstRecordEnd(bytes: Buffer, start: number): number {
  let inQuotes = false;
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x22) inQuotes = !inQuotes;
    else if (byte === 0x0a && !inQuotes) return i + 1;
  }
  return bytes.length;
}
