/**
 * Compressing ahead (issue 16): as soon as a collection's files are there, each big one is deflated in the
 * background — its whole tar segment (header, bytes, padding), on the writer's shared deflate slots — while
 * other collectors run. Closing a tarball then copies the deflated segments and deflates only the small
 * members. The tarball's content is byte for byte the same; only how the deflate stream is cut differs.
 */
import { mkdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateMember, type DeflatedSegment } from '../pack/write-tarball.js';
import type { CollectedFile } from '../collect/run.js';

/**
 * Files smaller than this are deflated when their tarball closes. Half a deflate block and up are deflated
 * ahead: a collector that waited on its database and wrote a MiB is then compressed while the others still wait,
 * instead of at the end of the run (`npm run bench -- --io`).
 */
const AHEAD_MIN_BYTES = 256 * 1024;

export interface AheadOptions {
  /** Where the deflated segments are kept until their tarball is written. */
  dir: string;
  gzipLevel: number;
  /** The tar entries' mtime (the run's `until`). */
  mtime: Date;
  signal: AbortSignal;
  minBytes?: number;
}

export class DeflateAhead {
  private readonly segments = new Map<string, Promise<DeflatedSegment | null>>();
  /** Segments being removed (never reject). */
  private readonly releasing = new Set<Promise<void>>();
  private made: Promise<void> | null = null;
  private count = 0;
  /** One file at a time: a file's blocks already use every deflate slot, and more at once only cost memory. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AheadOptions) {}

  /** Starts deflating the big files of a collection; never rejects (a failure means "pack it raw"). */
  start(files: readonly CollectedFile[]): void {
    for (const file of files) {
      if (file.size < (this.options.minBytes ?? AHEAD_MIN_BYTES) || this.segments.has(file.file)) continue;
      const out = join(this.options.dir, `${this.count++}.deflate`);
      const segment = this.tail
        .then(() => this.dir())
        .then(() =>
          deflateMember({ name: file.name, file: file.file, mtime: this.options.mtime, gzipLevel: this.options.gzipLevel, out, signal: this.options.signal }),
        )
        .catch(async () => {
          await rm(out, { force: true }).catch(() => undefined);
          return null;
        });
      this.segments.set(file.file, segment);
      this.tail = segment;
    }
  }

  /**
   * Deflating ahead for one collection whose members are named `name`: `finished` starts on each file its
   * splitter finished while it runs (a hint: `done` keeps only the files the collector returned, at the size they
   * were deflated at); `done` then starts on the rest of the returned files. Call `done` once, with `[]` when the
   * collection failed or is empty: what was deflated for nothing is removed.
   */
  collection(name: string): { finished: (file: string, size: number) => void; done: (files: readonly CollectedFile[]) => Promise<void> } {
    const started = new Map<string, number>();
    const resolving: Promise<void>[] = [];
    let open = true;
    const finished = (file: string, size: number): void => {
      if (!open) return;
      resolving.push(
        realpath(file).then(
          (real) => {
            if (this.segments.has(real)) return;
            started.set(real, size);
            this.start([{ name, file: real, size }]);
          },
          () => undefined,
        ),
      );
    };
    const done = async (files: readonly CollectedFile[]): Promise<void> => {
      open = false;
      await Promise.all(resolving);
      const kept = new Map(files.map((f) => [f.file, f.size]));
      for (const [file, size] of started) {
        if (kept.get(file) !== size) void this.release(file); // not returned, or changed since it was finished
      }
      this.start(files);
    };
    return { finished, done };
  }

  /** The deflated segment of `file`, if it was started (null if deflating it failed). */
  segmentOf(file: string): Promise<DeflatedSegment | null> | undefined {
    return this.segments.get(file);
  }

  /** Forgets `file`'s segment and removes it from disk (its tarball is written, or it is not needed). */
  release(file: string): Promise<void> {
    const segment = this.segments.get(file);
    if (!segment) return Promise.resolve();
    this.segments.delete(file);
    const removed = segment.then(async (done) => {
      if (done) await rm(done.file, { force: true }).catch(() => undefined);
    });
    this.releasing.add(removed);
    void removed.finally(() => this.releasing.delete(removed));
    return removed;
  }

  /** Waits for every segment still being made (before the run's directory is removed). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.segments.values(), ...this.releasing]);
  }

  private dir(): Promise<void> {
    this.made ??= mkdir(this.options.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.made;
  }
}
