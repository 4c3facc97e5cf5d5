/**
 * Compressing ahead (issue 16): as soon as a collection's files are there, each big one is deflated in the
 * background — its whole tar segment (header, bytes, padding), on the writer's shared deflate slots — while
 * other collectors run. Closing a tarball then copies the deflated segments and deflates only the small
 * members. The tarball's content is byte for byte the same; only how the deflate stream is cut differs.
 */
import { mkdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateGrowing, deflateMember, FileGrowth, GZIP_BLOCK, type DeflatedSegment } from '../pack/write-tarball.js';
import type { CollectedFile } from '../collect/run.js';

/**
 * Files smaller than this are deflated when their tarball closes. Half a deflate block and up are deflated
 * ahead: a collector that waited on its database and wrote a MiB is then compressed while the others still wait,
 * instead of at the end of the run (`npm run bench -- --io`).
 */
const AHEAD_MIN_BYTES = 256 * 1024;
/**
 * Files smaller than this (a few deflate blocks) are deflated at once, not behind the files before them: the
 * shared deflate slots bound what runs and what it holds anyway, and a run whose collectors each write a MiB
 * (`npm run bench -- --io`) would otherwise deflate the last ones one after the other once they all returned.
 */
const AHEAD_AT_ONCE_BYTES = 4 * GZIP_BLOCK;

export interface AheadOptions {
  /** Where the deflated segments are kept until their tarball is written. */
  dir: string;
  gzipLevel: number;
  /** The tar entries' mtime (the run's `until`). */
  mtime: Date;
  signal: AbortSignal;
  minBytes?: number;
  /** How a finished file is deflated (a test's stand-in); {@link deflateMember} by default. */
  deflate?: typeof deflateMember;
}

export class DeflateAhead {
  private readonly segments = new Map<string, Promise<DeflatedSegment | null>>();
  /** Segments being removed (never reject). */
  private readonly releasing = new Set<Promise<void>>();
  private made: Promise<void> | null = null;
  private count = 0;
  /**
   * Big files one at a time: a big file's blocks already use every deflate slot, and more at once only cost
   * memory (and finish each of them later). Small ones go at once.
   */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AheadOptions) {}

  /** Starts deflating the big files of a collection; never rejects (a failure means "pack it raw"). */
  start(files: readonly CollectedFile[]): void {
    for (const file of files) {
      if (file.size < (this.options.minBytes ?? AHEAD_MIN_BYTES) || this.segments.has(file.file)) continue;
      const out = join(this.options.dir, `${this.count++}.deflate`);
      const small = file.size < AHEAD_AT_ONCE_BYTES;
      const segment = (small ? Promise.resolve() : this.tail)
        .then(() => this.dir())
        .then(() =>
          (this.options.deflate ?? deflateMember)({ name: file.name, file: file.file, mtime: this.options.mtime, gzipLevel: this.options.gzipLevel, out, signal: this.options.signal }),
        )
        .catch(async () => {
          await rm(out, { force: true }).catch(() => undefined);
          return null;
        });
      this.segments.set(file.file, segment);
      if (!small) this.tail = segment;
    }
  }

  /**
   * Deflating ahead for one collection whose members are named `name`: `grown` starts on a file its splitter is
   * still writing, block by block as its bytes become final; `finished` completes it, or starts on a file the
   * splitter finished at once (a hint: `done` keeps only the files the collector returned, at the size they were
   * finished at); `done` then starts on the rest of the returned files. Call `done` once, with `[]` when the
   * collection failed or is empty: what was deflated for nothing is removed, and a file never finished stops.
   */
  collection(name: string): {
    grown: (file: string, size: number) => void;
    finished: (file: string, size: number) => void;
    done: (files: readonly CollectedFile[]) => Promise<void>;
  } {
    /** Real path → the size it was finished at, or null while it is still being written. */
    const started = new Map<string, number | null>();
    /** Files being written, by the path they were announced with: their growth and their real path. */
    const growing = new Map<string, { growth: FileGrowth; real: Promise<string | null> }>();
    const resolving: Promise<void>[] = [];
    let open = true;
    const grown = (file: string, size: number): void => {
      if (!open) return;
      const known = growing.get(file);
      if (known !== undefined) {
        known.growth.grow(size);
        return;
      }
      // Deflated as it grows once a whole deflate block of it is final; a small file once finished, if big enough then.
      if (size < GZIP_BLOCK) return;
      const growth = new FileGrowth();
      growth.grow(size);
      const real = realpath(file).then(
        (path) => {
          if (this.segments.has(path)) return null;
          started.set(path, null);
          this.startGrowing(name, path, growth);
          return path;
        },
        () => null,
      );
      growing.set(file, { growth, real });
      resolving.push(real.then(() => undefined));
    };
    const finished = (file: string, size: number): void => {
      if (!open) return;
      const known = growing.get(file);
      if (known !== undefined) {
        known.growth.complete(size);
        resolving.push(
          known.real.then((path) => {
            if (path !== null) started.set(path, size);
          }),
        );
        return;
      }
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
      for (const { growth } of growing.values()) growth.abandon(new Error('the collection ended before the file was finished'));
      await Promise.all(resolving);
      const kept = new Map(files.map((f) => [f.file, f.size]));
      for (const [file, size] of started) {
        if (size === null || kept.get(file) !== size) void this.release(file); // not returned, never finished, or changed since
      }
      this.start(files);
    };
    return { grown, finished, done };
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

  /** Deflates `file` while it is being written (not behind other files: it goes at the pace of its writer). */
  private startGrowing(name: string, file: string, growth: FileGrowth): void {
    const out = join(this.options.dir, `${this.count++}.deflate`);
    const segment = this.dir()
      .then(() => deflateGrowing({ name, file, mtime: this.options.mtime, gzipLevel: this.options.gzipLevel, out, signal: this.options.signal }, growth))
      .catch(async () => {
        await rm(out, { force: true }).catch(() => undefined);
        return null;
      });
    this.segments.set(file, segment);
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
