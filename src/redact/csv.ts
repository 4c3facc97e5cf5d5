/**
 * Redaction of one CSV file, streaming: the file is read in chunks, cut into whole records (a quoted field may
 * hold commas, quotes, CR and LF, and a record may cross any chunk boundary), each record is redacted by the
 * {@link CsvPlan} its header made, and written with {@link CsvFileSplitter}'s row path, so no output file exceeds
 * the size limit. Memory holds a chunk and one record at a time, whatever the file's size.
 *
 * Why the row path and not `writable()`: the row path formats into buffers it reuses once written; text handed
 * to `writable()` would be a fresh buffer per piece, kept by the splitter until its next flush (1 MiB), long
 * enough to survive young-generation GCs — 30-40 MiB more peak RSS.
 */
import { open, unlink, writeFile } from 'node:fs/promises';
import { CsvFileSplitter } from '../collect/csv-splitter.js';
import { CsvSyntaxError, RecordEnds, RecordReader } from './csv-records.js';
import { CsvPlan } from './csv-plan.js';
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
    const unclosed = await readRecords(input, (records) => redactor.records(records));
    // After the records: the reader names what is wrong more precisely than the quote count.
    if (unclosed) throw new CsvSyntaxError('a quoted field is not closed before the end of the file');
  } catch (err) {
    await redactor.abandon();
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
 * end). One buffer is reused for the whole file: what follows the last record end is moved to its start before
 * the next read; it doubles only for a record longer than itself. So reading allocates nothing per chunk.
 */
/** Returns true when the file ends inside a quoted field. */
async function readRecords(input: CsvFileInput, onRecords: (bytes: Buffer) => Promise<void>): Promise<boolean> {
  const ends = new RecordEnds();
  let buf = Buffer.allocUnsafeSlow(input.readChunk ?? READ_CHUNK);
  let filled = 0;
  const handle = await open(input.source, 'r');
  try {
    for (;;) {
      input.signal?.throwIfAborted();
      if (filled === buf.length) {
        if (buf.length >= MAX_RECORD_BYTES) {
          throw new RedactionError(
            `${input.where}: no record end in ${MAX_RECORD_BYTES / 1024 / 1024} MiB (a record that large, or a quote never closed): it cannot be redacted`,
          );
        }
        const bigger = Buffer.allocUnsafeSlow(Math.min(buf.length * 2, MAX_RECORD_BYTES));
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      const from = filled;
      filled += bytesRead;
      const end = ends.last(buf.subarray(from, filled));
      if (end === -1) continue;
      const cut = from + end;
      await onRecords(buf.subarray(0, cut));
      buf.copyWithin(0, cut, filled);
      filled -= cut;
    }
    if (filled > 0) await onRecords(buf.subarray(0, filled));
    return ends.inQuotes;
  } finally {
    await handle.close();
  }
}

/** CSV bytes in, redacted records out through a splitter made once the header is known. */
class CsvRedactor {
  plan: CsvPlan | undefined;
  readonly #input: CsvFileInput;
  readonly #reader = new RecordReader();
  #splitter: CsvFileSplitter | undefined;
  #count = 0;
  #first = true;

  constructor(input: CsvFileInput) {
    this.#input = input;
  }

  /** The files written; [] when no record was. */
  close(): Promise<string[]> {
    return this.#splitter?.close() ?? Promise.resolve([]);
  }

  /** After a failure: what was written is removed. */
  async abandon(): Promise<void> {
    const files = (await this.#splitter?.close().catch(() => [])) ?? [];
    await Promise.all(files.map((file) => unlink(file).catch(() => undefined)));
  }

  /** Redacts whole records. `bytes` is read (decoded) before the first await: the caller may reuse it after. */
  async records(bytes: Buffer): Promise<void> {
    let text = bytes.toString('utf8');
    if (this.#first) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark is not part of the first name
    }
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
      if (this.#splitter !== undefined) await this.#splitter.write(plan.record(reader.fields));
    }
  }

  #start(header: readonly string[]): void {
    const { rules, hmac, where, key, target, maxFileSize } = this.#input;
    const plan = new CsvPlan(header, rules, hmac, where, key);
    this.plan = plan;
    if (!plan.empty) this.#splitter = new CsvFileSplitter({ path: target, maxFileSize, columns: plan.columns });
  }

  /** Where the current record is: `record N` (1 is the first after the header) or `the header`. */
  #where(): string {
    return this.#count === 1 ? 'the header' : `record ${this.#count - 1}`;
  }
}
