/**
 * Redaction of one CSV file, streaming: the file is read in chunks, cut into whole records (a quoted field may
 * hold commas, quotes, CR and LF, and a record may cross any chunk boundary), each record is redacted by the
 * {@link CsvPlan} its header made, and the result goes through a {@link CsvFileSplitter} (`writable()`), so no
 * output file exceeds the size limit. Memory holds a chunk and one record at a time, whatever the file's size.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvFileSplitter } from '../collect/csv-splitter.js';
import { CsvSyntaxError, RecordEnds, RecordReader } from './csv-records.js';
import { CsvPlan } from './csv-plan.js';
import type { Hmac32 } from './hmac.js';
import { RedactionError, type EffectiveRules } from './types.js';

/** Read size of the collector's file. */
const READ_CHUNK = 256 * 1024;
/** A record (or a quote never closed) longer than this cannot be redacted: it would have to be held whole. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

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
  const splitter = new CsvFileSplitter({ path: input.target, maxFileSize: input.maxFileSize });
  try {
    const options = input.signal === undefined ? {} : { signal: input.signal };
    await pipeline(createReadStream(input.source, { highWaterMark: input.readChunk ?? READ_CHUNK }), redactor, splitter.writable(), options);
  } catch (err) {
    await splitter.close().catch(() => undefined);
    if (err instanceof RedactionError) throw err;
    if (err instanceof CsvSyntaxError) throw new RedactionError(`${input.where} is not valid CSV, so it cannot be redacted: ${err.message}`);
    throw err;
  }
  let files = await splitter.close();
  const plan = redactor.plan;
  if (files.length === 0 && plan !== undefined && plan.header !== '') {
    // A header without records: keep it, as the collector's file had it.
    await writeFile(input.target, plan.header, { mode: 0o600, flag: 'wx' });
    files = [input.target];
  }
  return { files, dropped: plan?.dropped ?? [], hashed: plan?.hashed ?? [], masked: plan?.masked ?? 0 };
}

/** The transform: CSV bytes in, redacted CSV bytes out (LF line ends). */
class CsvRedactor extends Transform {
  plan: CsvPlan | undefined;
  readonly #input: CsvFileInput;
  readonly #ends = new RecordEnds();
  readonly #reader = new RecordReader();
  #held: Buffer[] = [];
  #heldBytes = 0;
  #count = 0;
  #first = true;

  constructor(input: CsvFileInput) {
    super();
    this.#input = input;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const end = this.#ends.last(chunk);
      if (end === -1) {
        this.#hold(chunk);
      } else {
        const parts = this.#held;
        parts.push(end === chunk.length ? chunk : chunk.subarray(0, end));
        const bytes = this.#heldBytes + end;
        this.#held = [];
        this.#heldBytes = 0;
        if (end < chunk.length) this.#hold(chunk.subarray(end));
        this.#redact(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes));
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      // The reader names what is wrong more precisely than the quote count, so it goes first.
      if (this.#heldBytes > 0) this.#redact(Buffer.concat(this.#held, this.#heldBytes));
      if (this.#ends.inQuotes) throw new CsvSyntaxError('a quoted field is not closed before the end of the file');
      this.#held = [];
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #hold(bytes: Buffer): void {
    this.#held.push(bytes);
    this.#heldBytes += bytes.length;
    if (this.#heldBytes > MAX_RECORD_BYTES) {
      throw new RedactionError(
        `${this.#input.where}: no record end in ${MAX_RECORD_BYTES / 1024 / 1024} MiB (a record that large, or a quote never closed): it cannot be redacted`,
      );
    }
  }

  /** Redacts whole records. */
  #redact(bytes: Buffer): void {
    let text = bytes.toString('utf8');
    if (this.#first) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark is not part of the first name
    }
    const reader = this.#reader;
    reader.reset(text);
    let out = '';
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
        const { rules, hmac, where, key } = this.#input;
        this.plan = new CsvPlan(reader.fields, rules, hmac, where, key);
        out += this.plan.header;
        continue;
      }
      if (reader.fields.length !== plan.width) {
        throw new CsvSyntaxError(`${this.#where()}: ${reader.fields.length} fields where the header has ${plan.width}`);
      }
      if (!plan.empty) out += plan.line(reader.fields, reader.plain);
    }
    if (out !== '') this.push(out);
  }

  /** Where the current record is: `record N` (1 is the first after the header) or `the header`. */
  #where(): string {
    return this.#count === 1 ? 'the header' : `record ${this.#count - 1}`;
  }
}
