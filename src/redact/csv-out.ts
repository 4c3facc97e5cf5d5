/**
 * Where redacted records go: bytes written straight into reused buffers, handed whole to the splitter's router
 * (src/collect/csv-scan.ts), which cuts them into files of at most `maxFileSize` bytes, each starting with the
 * header (src/collect/split-files.ts). The same files and splitting as `CsvFileSplitter`'s row path, without
 * making a string per field and per record: redaction copies the bytes of most fields as they were read.
 *
 * Memory: the buffers are reused once the files have written them; one flush is in flight while the next
 * records are made (double buffering), so at most two flushes' worth of records are held (about 1 MiB). A file
 * done gives its buffers to the next one ({@link SPARE}): on the redaction thread, which makes little garbage
 * and so collects it rarely, each file's own 2 MiB stayed until a full GC (+12 MiB RSS over 13 files, measured).
 */
import { RecordRouter } from '../collect/csv-scan.js';
import { SplitFiles } from '../collect/split-files.js';

/** Output buffer size; buffers of this size are reused. */
const CHUNK = 64 * 1024;
/** Bytes queued for the files before they are written out in one `writev` per file. */
const FLUSH_BYTES = 512 * 1024;
/** Buffers of {@link CHUNK} bytes free for any CsvOut of this thread: at most two flushes' worth. */
const SPARE: Buffer[] = [];
const MAX_SPARE = (2 * FLUSH_BYTES) / CHUNK + 4;

function spare(): Buffer {
  return SPARE.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
}

function release(buffers: readonly Buffer[]): void {
  for (const buf of buffers) if (buf.length === CHUNK && SPARE.length < MAX_SPARE && !SPARE.includes(buf)) SPARE.push(buf);
}

export class CsvOut {
  /** The buffer being filled, `buf[0, at)` written so far. Writers fill it directly after {@link reserve}. */
  buf: Buffer;
  at = 0;
  readonly #files: SplitFiles;
  readonly #router: RecordRouter;
  /** Buffers handed to the router since the last flush; buffers free to take again. */
  #handed: Buffer[] = [];
  /** The flush in flight (settled, never rejecting), if any. */
  #flushing: Promise<void> | undefined;

  /** `header`: the header line, line end included. */
  constructor(path: string, maxFileSize: number, header: Buffer) {
    this.#files = new SplitFiles(path);
    this.#router = new RecordRouter(this.#files, maxFileSize, header);
    this.buf = spare();
  }

  /** Makes room for `bytes` more bytes in `buf` after `at` (a full buffer goes to the files first). */
  reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    if (this.at > 0) this.#hand();
    else release([this.buf]);
    // A value larger than a buffer gets one of its own, not reused.
    this.buf = bytes > CHUNK ? Buffer.allocUnsafeSlow(bytes) : spare();
  }

  /** Writes `text` as UTF-8. */
  writeText(text: string): void {
    this.reserve(text.length * 3);
    this.at += this.buf.write(text, this.at, 'utf8');
  }

  /**
   * Between input chunks: once enough is queued, starts writing it out and waits for the flush before (so the
   * disk works while the next records are made). Rejects once the files failed.
   */
  async drain(): Promise<void> {
    const files = this.#files;
    this.#throwIfFailed();
    if (files.queuedBytes + this.at < FLUSH_BYTES) return;
    if (this.at > 0) {
      this.#hand();
      this.buf = spare();
    }
    const handed = this.#handed;
    this.#handed = [];
    const previous = this.#flushing;
    // The router hands bytes on and keeps none (heldBytes), so the buffers are free once written.
    const reusable = this.#router.heldBytes === 0;
    const current = files.flush().then(() => {
      if (reusable) release(handed);
    });
    // A failure is kept by the files (`failure`) and reported by the next drain() or close().
    this.#flushing = current.catch(() => undefined);
    await previous;
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    const failure = this.#files.failure;
    if (failure !== undefined) throw failure;
  }

  /** Writes what is left and resolves to the files written, in order ([] when no record was written). */
  async close(): Promise<string[]> {
    const files = this.#files;
    if (files.failure === undefined) {
      this.#hand();
      this.#router.end();
      await files.flush();
      // Written: the buffers are free for the next file (the router keeps none, heldBytes).
      if (files.failure === undefined && this.#router.heldBytes === 0) {
        release(this.#handed);
        release([this.buf]);
        this.#handed = [];
      }
    }
    return files.result();
  }

  /** After a failure: what was written is removed. Never rejects. */
  abandon(reason: Error): Promise<void> {
    return this.#files.abort(reason);
  }

  /** Gives `buf[0, at)` to the router; the caller takes another buffer. */
  #hand(): void {
    if (this.at === 0) return;
    this.#router.push(this.buf.subarray(0, this.at));
    this.#handed.push(this.buf);
    this.at = 0;
  }
}
