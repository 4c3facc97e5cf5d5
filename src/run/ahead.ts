/**
 * Compressing ahead (issue 16): as soon as a collection's files are there, each big one is deflated in the
 * background — its whole tar segment (header, bytes, padding), on the writer's shared deflate slots — while
 * other collectors run. Closing a tarball then copies the deflated segments and deflates only the small
 * members. The tarball's content is byte for byte the same; only how the deflate stream is cut differs.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateMember, type DeflatedSegment } from '../pack/write-tarball.js';
import type { CollectedFile } from '../collect/run.js';

/** Files smaller than this are deflated when their tarball closes: ahead of time they would gain nothing. */
export const AHEAD_MIN_BYTES = 1024 * 1024;

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

  /** The deflated segment of `file`, if it was started (null if deflating it failed). */
  segmentOf(file: string): Promise<DeflatedSegment | null> | undefined {
    return this.segments.get(file);
  }

  /** Forgets `file`'s segment and removes it from disk (its tarball is written). */
  async release(file: string): Promise<void> {
    const segment = this.segments.get(file);
    if (!segment) return;
    this.segments.delete(file);
    const done = await segment;
    if (done) await rm(done.file, { force: true }).catch(() => undefined);
  }

  /** Waits for every segment still being made (before the run's directory is removed). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.segments.values()]);
  }

  private dir(): Promise<void> {
    this.made ??= mkdir(this.options.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.made;
  }
}
