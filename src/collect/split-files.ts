/**
 * The numbered files of a {@link CsvFileSplitter}: `jobs.csv`, `jobs_1.csv`, … Bytes are queued synchronously
 * (subarrays of the caller's buffers, never copies) and written out by `flush()` in one `writev` per file.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { messageOf } from '../errors.js';
import { writeAll } from '../write-all.js';
import { fileFinished, fileGrown } from './finished.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** `dir/jobs.csv` for index 0, then `dir/jobs_1.csv`, `dir/jobs_2.csv`, … (`dir/jobs_1` without extension). */
export function splitFilePath(path: string, index: number): string {
  if (index === 0) return path;
  const ext = extname(path);
  const stem = basename(path, ext);
  return join(dirname(path), `${stem}_${index}${ext}`);
}


interface Segment {
  path: string;
  chunks: Buffer[];
  /** The file is complete after these chunks: close it. */
  ended: boolean;
  /** The file ends at this offset: what follows it moves to the next file (after that file's header). */
  cutAt?: number;
  /** This new file receives the tail cut from the previous one, right after its first chunk (the header). */
  receivesTail?: boolean;
}

/** Bytes copied at a time when a record's start moves to the next file. */
const COPY_BYTES = 1024 * 1024;

/**
 * The numbered files on disk. The router queues bytes synchronously; `flush()` writes them in order (one
 * `writev` per file per flush), opening each file on its first bytes and closing it when it ends. Flushes
 * run one after another. After a failure every file written is removed and every later call rejects.
 */
export class SplitFiles {
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
  /** A file whose end moves to the next file, once that one is open. */
  #cut: { handle: FileHandle; path: string; from: number } | undefined;
  /** Bytes of the file being filled that can no longer move (see {@link SplitFiles.settled}). */
  #settled = 0;
  /** What was last announced as final. */
  #announced: { path: string; settled: number } = { path: '', settled: 0 };

  constructor(basePath: string) {
    this.basePath = basePath;
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * The first `offset` bytes of the file being filled are final: they end before the record in progress, and only
   * that record can still move to the next file. Announced once they are written (finished.ts).
   */
  settled(offset: number): void {
    this.#settled = offset;
  }

  /** Begins the next file with `header`. */
  start(header: Buffer): void {
    this.#settled = 0;
    this.#segments.push({ path: splitFilePath(this.basePath, this.#count++), chunks: [header], ended: false });
    this.#queued += header.length;
  }

  append(bytes: Buffer): void {
    this.#segments[this.#segments.length - 1]?.chunks.push(bytes);
    this.#queued += bytes.length;
  }

  /**
   * Ends the current file at `offset` (a record boundary) and begins the next one with `header` followed by the
   * bytes from `offset` on — the start of a record that turned out too big to fit. The bytes are read back from
   * disk when the files are written, so a long record is never held in memory.
   */
  moveTail(offset: number, header: Buffer): void {
    const last = this.#segments[this.#segments.length - 1];
    if (last === undefined) throw new Error('internal: no file to move a record from');
    last.ended = true;
    last.cutAt = offset;
    this.#settled = 0;
    this.#segments.push({ path: splitFilePath(this.basePath, this.#count++), chunks: [header], ended: false, receivesTail: true });
    this.#queued += header.length;
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
    let run = this.#tail.then(() => this.#write(segments));
    // How much of the file being filled is final, once written — when that moved on since the last flush.
    if (last !== undefined && !last.ended && (last.path !== this.#announced.path || this.#settled > this.#announced.settled)) {
      const growing = { path: last.path, settled: this.#settled };
      this.#announced = growing;
      if (growing.settled > 0) run = run.then(() => fileGrown(growing.path, growing.settled));
    }
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
          // Read too: a record that moves to the next file is read back (moveTail).
          this.#handle = await open(path, 'wx+', 0o600);
          this.#handlePath = path;
          this.#written.push(path);
        }
        const handle = this.#handle;
        if (handle === undefined) throw new Error('internal: no open file');
        let chunks = segment.chunks;
        if (segment.receivesTail === true) {
          await writeAll(handle, chunks.slice(0, 1));
          await this.#moveCut(handle);
          chunks = chunks.slice(1);
        }
        if (chunks.length > 0) await writeAll(handle, chunks);
        if (segment.cutAt !== undefined) {
          // Closed after its tail has moved to the next file.
          this.#cut = { handle, path, from: segment.cutAt };
          this.#handle = undefined;
          this.#handlePath = undefined;
        } else if (segment.ended) {
          this.#handle = undefined;
          this.#handlePath = undefined;
          const { size } = await handle.stat();
          await handle.close();
          fileFinished(path, size);
        }
      }
    } catch (err) {
      this.failure ??= fileError(path, err);
      await this.#removeAll();
      throw this.failure;
    }
  }

  /** Copies the cut file's bytes from the cut on into `to`, then truncates and closes the cut file. */
  async #moveCut(to: FileHandle): Promise<void> {
    const cut = this.#cut;
    if (cut === undefined) throw new Error('internal: no file to move a record from');
    const { size } = await cut.handle.stat();
    const buffer = Buffer.allocUnsafe(Math.min(COPY_BYTES, Math.max(1, size - cut.from)));
    for (let at = cut.from; at < size; ) {
      const { bytesRead } = await cut.handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
      if (bytesRead === 0) throw new Error('internal: the file being split ended early');
      await writeAll(to, [buffer.subarray(0, bytesRead)]);
      at += bytesRead;
    }
    await cut.handle.truncate(cut.from);
    this.#cut = undefined;
    await cut.handle.close();
    fileFinished(cut.path, cut.from);
  }

  async #removeAll(): Promise<void> {
    await this.#cut?.handle.close().catch(noop);
    this.#cut = undefined;
    const handle = this.#handle;
    this.#handle = undefined;
    this.#handlePath = undefined;
    await handle?.close().catch(noop);
    const written = this.#written;
    this.#written = [];
    await Promise.all(written.map((path) => unlink(path).catch(noop)));
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

function noop(): void {}
