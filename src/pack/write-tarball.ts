/**
 * Writes one `.tar.gz` tarball from files on disk (contract §3). Reading one back is `read-tarball.ts`.
 *
 * Entry headers are encoded with tar's own `Header` (and `Pax` for names over 100 bytes) from fields we set,
 * not from `lstat` of the staging files: tar's `Pack` would take mode, owner, user name and times from the
 * staging file and then need patching, and may turn a file with several hard links into a link entry.
 *
 * Compression is pigz's method on Node's zlib: the tar stream is cut into blocks of {@link GZIP_BLOCK} bytes,
 * each deflated on its own on the libuv thread pool, primed with the 32 KiB before it (so the output is as
 * small as one deflate stream's) and ended with a sync flush (so the pieces join into one deflate stream);
 * the CRC-32 is computed on the main thread as the blocks are read. One tarball thus uses every core, and
 * tarballs written at once share a fixed number of compression slots, each with its own reused input buffer:
 * memory stays the same however large the tarball and however many are written at once.
 *
 * The tarball is written to a `.partial` file beside its final path, fsynced, then hard-linked into place:
 * a link never replaces an existing file, so nothing is overwritten and no half-written tarball ever carries
 * the final name.
 */
import { randomBytes } from 'node:crypto';
import { access, link, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { Header, Pax } from 'tar';
import { messageOf } from '../errors.js';
import { writeAll } from '../write-all.js';
import { crc32, crc32Combine } from './crc.js';

/** A member to pack: its name in the tarball (without `./`) and the file holding its bytes. */
export interface TarballMemberFile {
  /** e.g. `jobs.csv`; the tar entry is `./jobs.csv`. No `/`. */
  name: string;
  file: string;
  /**
   * The member's tar segment deflated ahead of time by {@link deflateMember}: copied as it is instead of being
   * deflated again (used only when the file still has the size it had then).
   */
  deflated?: DeflatedSegment | undefined;
  /** Not in memory (see {@link TarballMemberBytes}). */
  bytes?: never;
}

/** A small member whose bytes are in memory (a tarball's status rows and manifest): nothing to stage on disk. */
export interface TarballMemberBytes {
  /** e.g. `manifest.json`; the tar entry is `./manifest.json`. No `/`. */
  name: string;
  bytes: Buffer;
  file?: never;
  deflated?: never;
}

/** A member to pack: from a file on disk, or from bytes in memory. */
export type TarballMemberSpec = TarballMemberFile | TarballMemberBytes;

/** A member's tar segment (header, bytes, padding) as raw deflate data ending in a sync flush. */
export interface DeflatedSegment {
  /** The file holding the deflate data. */
  file: string;
  /**
   * Deflate data that goes before the file's: the member's header, for a segment deflated while its file was
   * still being written (the header holds the size, known only at the end).
   */
  head?: Buffer | undefined;
  /** CRC-32 and length of the uncompressed segment. */
  crc: number;
  length: number;
  /** The member file's size when it was deflated. */
  size: number;
}

export interface TarballSpec {
  /** Final path of the tarball; it must not exist yet. */
  path: string;
  /** Members in tar order. */
  members: readonly TarballMemberSpec[];
  /** mtime of every entry (the run's `until`), in whole seconds. */
  mtime: Date;
  /** gzip level 1–9. */
  gzipLevel: number;
  /** Aborting stops the write, removes the partial file and rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** A member of a tarball: name without `./`, uncompressed size in bytes. */
export interface TarballMember {
  name: string;
  size: number;
}

export interface WrittenTarball {
  /** Compressed size of the tarball in bytes. */
  bytes: number;
  /** The members in tar order, with their sizes. */
  members: TarballMember[];
}

const TAR_BLOCK = 512;
const ZEROS = Buffer.alloc(2 * TAR_BLOCK);
/**
 * Uncompressed bytes per deflate job. 512 KiB takes ~10 ms to deflate at level 6: small enough to spread one
 * tarball over the cores and to keep little in memory, large enough that the per-job cost (a zlib context and
 * a stream object, ~0.1 ms of the main thread) stays near 1 %. Measured (bench/README.md): 128 KiB blocks
 * were 12 % slower end to end, 1 and 2 MiB no faster. Priming with the previous 32 KiB keeps the size within
 * 0.01 % of one deflate stream's.
 */
export const GZIP_BLOCK = 512 * 1024;
/**
 * zlib's memLevel: 9 (a 64 Ki-entry hash table) instead of the default 8. At the same level it finds matches
 * with shorter hash chains: deflate takes about 6 % less CPU on the benchmark table and the output is a little
 * smaller, for 128 KiB more memory per deflate job. The level stays the configured one (gzipLevel).
 */
const MEM_LEVEL = 9;
const WINDOW = 32 * 1024;
/**
 * Output buffer of a deflate job, from {@link outputs}: a block's deflate data fits in one whatever its bytes (at
 * most ~160 bytes more than the block for data that does not compress, plus the flush).
 */
const OUTPUT_SIZE = GZIP_BLOCK + 8 * 1024;
/** zlib's output chunk where no pooled buffer can be lent to it (see {@link lendOutput}). */
const GZIP_CHUNK = 256 * 1024;
/**
 * Deflate jobs running at once in this process, across all tarballs: one per core plus one, so a core never
 * waits for the main thread to hand it the next block (one per core was 25 % slower end to end); at most the
 * thread pool's size minus one, so file reads and writes always find a free thread. The pool has 4 threads
 * unless UV_THREADPOOL_SIZE says otherwise: on more than 2 cores, set it to cores + 2 to use them all.
 */
const SLOTS = Math.max(1, Math.min(availableParallelism() + 1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1));
/** Blocks of one tarball read but not yet written out: bounds what waits in memory behind a slow disk. */
const MAX_PENDING = SLOTS + 1;
/** Output buffers kept for reuse (more are made when tarballs are written at once, and left to the GC after). */
const MAX_FREE_OUTPUTS = 2 * MAX_PENDING;
/** Errors from these mean "no hard links here": fall back to check-then-rename. */
const NO_LINK_CODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** An error whose message already names the tarball and says what to do. */
class TarballError extends Error {
  override readonly name = 'TarballError';
}

/**
 * Writes `spec.members` (in order) into a new gzip-compressed tarball at `spec.path`. Entries are portable:
 * `./<name>`, mode 0644, uid/gid 0, no user or group names, mtime `spec.mtime`. The tarball gets mode 0600.
 * Rejects — leaving no file behind — when `spec.path` exists, a member file is missing or changes size while
 * being packed, the disk fails, or `spec.signal` aborts.
 */
export async function writeTarball(spec: TarballSpec): Promise<WrittenTarball> {
  const { path, signal } = spec;
  signal?.throwIfAborted();
  if (!Number.isInteger(spec.gzipLevel) || spec.gzipLevel < 1 || spec.gzipLevel > 9) {
    throw new RangeError(`writeTarball(${path}): gzipLevel must be an integer from 1 to 9, got ${spec.gzipLevel}`);
  }
  checkNames(path, spec.members);
  const entries = await Promise.all(spec.members.map(async (m) => ({ ...m, size: await memberSize(path, m) })));
  const partial = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  const handle = await open(partial, 'wx', 0o600).catch((err: unknown) => {
    throw wrap(path, err);
  });
  let handleOpen = true;
  try {
    await handle.chmod(0o600); // whatever the umask
    const bytes = await writeGzip(handle, partsOf(path, entries, spec.mtime), spec.gzipLevel, signal);
    await handle.sync();
    handleOpen = false;
    await handle.close();
    throwIfAborted(signal);
    await publish(partial, path);
    return { bytes, members: entries.map(({ name, size }) => ({ name, size })) };
  } catch (err) {
    if (handleOpen) await handle.close().catch(noop);
    await rm(partial, { force: true }).catch(noop);
    throw wrap(path, err);
  }
}

/** What {@link deflateRun} reads: the tar stream of some entries, or one member's file as it is written. */
interface BlockSource {
  /** True once the last byte was handed out. */
  readonly done: boolean;
  /** Resolves once `bytes` bytes (or the rest) can be read without waiting for a writer. */
  ready?(bytes: number): Promise<void>;
  /** Fills `buffer` with the next bytes; returns how many (less than its length only at the end). */
  fill(buffer: Buffer): Promise<number>;
  close(): Promise<void>;
}

/**
 * The tar stream, read into caller-given buffers: per member a header block, the file's bytes (positional reads
 * straight into the buffer), zero padding to a tar block; then two zero blocks. One member file is open at a
 * time; `close()` closes it whatever happened.
 */
class TarSource implements BlockSource {
  /** True once the last byte of the stream was handed out. */
  done = false;
  readonly #path: string;
  readonly #entries: (TarballMemberSpec & TarballMember)[];
  readonly #mtime: Date;
  #index = -1;
  /** Bytes of the current piece still to hand out: a header, zero padding or the end blocks. */
  #fixed: Buffer = Buffer.alloc(0);
  #file: FileHandle | undefined;
  /** Bytes of the current member's file still to read, and where the next read starts. */
  #left = 0;
  #position = 0;

  readonly #end: boolean;

  /** `end`: the archive's two zero blocks follow the entries (false for a piece of an archive). */
  constructor(path: string, entries: (TarballMemberSpec & TarballMember)[], mtime: Date, end = true) {
    this.#path = path;
    this.#entries = entries;
    this.#mtime = mtime;
    this.#end = end;
  }

  /** Fills `buffer` with the next bytes of the stream; returns how many (less than its length only at the end). */
  async fill(buffer: Buffer): Promise<number> {
    let at = 0;
    while (at < buffer.length && !this.done) {
      if (this.#fixed.length > 0) {
        const n = this.#fixed.copy(buffer, at);
        this.#fixed = this.#fixed.subarray(n);
        at += n;
      } else if (this.#left > 0) {
        at += await this.#read(buffer, at);
      } else {
        await this.#next();
      }
    }
    return at;
  }

  async close(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(noop);
  }

  /** Ends the current member (padding) and starts the next one (header), or the end of the archive. */
  async #next(): Promise<void> {
    const current = this.#entries[this.#index];
    if (this.#file !== undefined && current !== undefined) {
      // The file must not have grown while it was read: the header already holds its size.
      const { size } = await this.#file.stat();
      await this.close();
      if (size !== current.size) throw this.#changed(current);
      const padding = paddingOf(current.size);
      if (padding > 0) {
        this.#fixed = ZEROS.subarray(0, padding);
        return;
      }
    }
    const entry = this.#entries[++this.#index];
    if (entry === undefined) {
      if (this.#index === this.#entries.length && this.#end) this.#fixed = ZEROS;
      else this.done = true;
      return;
    }
    this.#fixed = entryHeader(entry.name, entry.size, this.#mtime);
    if (entry.bytes !== undefined) {
      // In memory: header, bytes and padding are handed out as they are.
      this.#fixed = Buffer.concat([this.#fixed, entry.bytes, ZEROS.subarray(0, paddingOf(entry.size))]);
      return;
    }
    this.#file = await open(entry.file, 'r').catch((err: unknown) => {
      throw this.#cannot(entry, err);
    });
    this.#left = entry.size;
    this.#position = 0;
  }

  async #read(buffer: Buffer, at: number): Promise<number> {
    const entry = this.#entries[this.#index]!;
    const want = Math.min(this.#left, buffer.length - at);
    const { bytesRead } = await this.#file!.read(buffer, at, want, this.#position).catch((err: unknown) => {
      throw this.#cannot(entry, err);
    });
    if (bytesRead === 0) throw this.#changed(entry);
    this.#left -= bytesRead;
    this.#position += bytesRead;
    return bytesRead;
  }

  // Only members read from a file get here.
  #cannot(entry: TarballMemberSpec, err: unknown): TarballError {
    return new TarballError(`cannot pack ${entry.file ?? ''} as ${entry.name} into ${this.#path}: ${messageOf(err)}`, { cause: err });
  }

  #changed(entry: TarballMemberSpec): TarballError {
    return new TarballError(
      `cannot pack ${entry.file ?? ''} as ${entry.name} into ${this.#path}: it changed size while being packed; nothing may write to it then`,
    );
  }
}

/**
 * One member's file while it is written, then its zero padding to a tar block — the part of its tar segment after
 * the header. Reads only bytes the writer announced final; checks the size when the file is complete.
 */
class GrowingSource implements BlockSource {
  done = false;
  readonly #path: string;
  readonly #entry: TarballMemberFile;
  readonly #growth: FileGrowth;
  readonly #signal: AbortSignal | undefined;
  #file: FileHandle | undefined;
  #position = 0;
  #padding: Buffer | undefined;

  constructor(path: string, entry: TarballMemberFile, growth: FileGrowth, signal: AbortSignal | undefined) {
    this.#path = path;
    this.#entry = entry;
    this.#growth = growth;
    this.#signal = signal;
  }

  async ready(bytes: number): Promise<void> {
    if (this.#padding === undefined) await this.#growth.until(this.#position + bytes, this.#signal);
  }

  async fill(buffer: Buffer): Promise<number> {
    let at = 0;
    while (at < buffer.length && !this.done) {
      if (this.#padding !== undefined) {
        const n = this.#padding.copy(buffer, at);
        this.#padding = this.#padding.subarray(n);
        at += n;
        if (this.#padding.length === 0) this.done = true;
        continue;
      }
      await this.#growth.until(this.#position + 1, this.#signal);
      const size = this.#growth.size;
      const end = size ?? this.#growth.settled;
      if (this.#position < end) {
        at += await this.#read(buffer, at, end);
      } else if (size !== null) {
        await this.#end(size);
      }
    }
    return at;
  }

  async close(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(noop);
  }

  async #read(buffer: Buffer, at: number, end: number): Promise<number> {
    this.#file ??= await open(this.#entry.file, 'r').catch((err: unknown) => {
      throw this.#cannot(err);
    });
    const want = Math.min(end - this.#position, buffer.length - at);
    const { bytesRead } = await this.#file.read(buffer, at, want, this.#position).catch((err: unknown) => {
      throw this.#cannot(err);
    });
    if (bytesRead === 0) throw this.#changed();
    this.#position += bytesRead;
    return bytesRead;
  }

  /** The file is complete at `size` and all of it was read: check it, then hand out the padding. */
  async #end(size: number): Promise<void> {
    const info = this.#file === undefined ? await stat(this.#entry.file) : await this.#file.stat();
    await this.close();
    if (info.size !== size) throw this.#changed();
    const padding = paddingOf(size);
    this.#padding = ZEROS.subarray(0, padding);
    if (padding === 0) this.done = true;
  }

  #cannot(err: unknown): TarballError {
    return new TarballError(`cannot deflate ${this.#entry.file} ahead into ${this.#path}: ${messageOf(err)}`, { cause: err });
  }

  #changed(): TarballError {
    return new TarballError(`cannot deflate ${this.#entry.file} ahead into ${this.#path}: it changed while being written`);
  }
}

/** A stretch of the archive: entries to deflate now, or one member's segment deflated ahead of time. */
type Part = { kind: 'raw'; source: TarSource } | { kind: 'deflated'; segment: DeflatedSegment };

/** Cuts the archive into parts: runs of entries deflated now, and segments deflated ahead; the end blocks last. */
function partsOf(path: string, entries: (TarballMemberSpec & TarballMember)[], mtime: Date): Part[] {
  const parts: Part[] = [];
  let run: (TarballMemberSpec & TarballMember)[] = [];
  for (const entry of entries) {
    if (entry.deflated !== undefined && entry.deflated.size === entry.size) {
      if (run.length > 0) parts.push({ kind: 'raw', source: new TarSource(path, run, mtime, false) });
      run = [];
      parts.push({ kind: 'deflated', segment: entry.deflated });
    } else run.push(entry);
  }
  parts.push({ kind: 'raw', source: new TarSource(path, run, mtime, true) });
  return parts;
}

/**
 * Writes the parts into `out` as one gzip member: each raw part deflated in blocks (see the file comment), each
 * segment deflated ahead copied, the CRC-32 of the whole combined from the parts'. Returns the compressed size.
 */
async function writeGzip(out: FileHandle, parts: Part[], level: number, signal: AbortSignal | undefined): Promise<number> {
  let bytes = await writeAll(out, [gzipHeader(level)], 0);
  let crc = 0;
  let length = 0;
  for (const [i, part] of parts.entries()) {
    if (part.kind === 'deflated') {
      bytes = await copySegment(out, part.segment, bytes, signal);
      crc = crc32Combine(crc, part.segment.crc, part.segment.length);
      length += part.segment.length;
      continue;
    }
    const run = await deflateRun(out, part.source, level, signal, bytes, i === parts.length - 1);
    bytes = run.bytes;
    crc = crc32Combine(crc, run.crc, run.length);
    length += run.length;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  return writeAll(out, [trailer], bytes);
}

/**
 * Deflates one member's tar segment (header, bytes, padding) into the file `out`, ahead of the tarball it will
 * go into, on the same deflate slots as tarballs. The result ends with a sync flush, so it can be copied into
 * a gzip stream between other deflate data.
 */
export async function deflateMember(spec: {
  name: string;
  file: string;
  mtime: Date;
  gzipLevel: number;
  out: string;
  signal?: AbortSignal | undefined;
}): Promise<DeflatedSegment> {
  checkNames(spec.out, [spec]);
  const size = await memberSize(spec.out, spec);
  return intoNewFile(spec.out, async (handle) => {
    const run = await deflateRun(handle, new TarSource(spec.out, [{ name: spec.name, file: spec.file, size }], spec.mtime, false), spec.gzipLevel, spec.signal, 0, false);
    return { file: spec.out, crc: run.crc, length: run.length, size };
  });
}

/** Runs `write` on the new file `out` (mode 0600), then closes it; if anything fails, the file is removed. */
async function intoNewFile<T>(out: string, write: (handle: FileHandle) => Promise<T>): Promise<T> {
  const handle = await open(out, 'wx', 0o600);
  try {
    const result = await write(handle);
    await handle.close();
    return result;
  } catch (err) {
    await handle.close().catch(noop);
    await rm(out, { force: true }).catch(noop);
    throw err;
  }
}

/**
 * A file still being written, as far as it is final: grown by its writer's announcements, then complete at its
 * size, or abandoned. {@link deflateGrowing} waits on it for each block.
 */
export class FileGrowth {
  #settled = 0;
  #size: number | null = null;
  #failure: Error | null = null;
  #wake: (() => void) | null = null;

  /** The file's size once complete, else null. */
  get size(): number | null {
    return this.#size;
  }

  /** Bytes known to be final. */
  get settled(): number {
    return this.#settled;
  }

  grow(bytes: number): void {
    if (this.#size !== null || bytes <= this.#settled) return;
    this.#settled = bytes;
    this.#notify();
  }

  complete(size: number): void {
    if (this.#size !== null || this.#failure !== null) return;
    this.#size = size;
    this.#settled = size;
    this.#notify();
  }

  /** The file will not be completed (its collection ended without finishing it): the deflate stops. */
  abandon(reason: Error): void {
    if (this.#size !== null) return;
    this.#failure ??= reason;
    this.#notify();
  }

  /** Resolves once `bytes` bytes are final or the file is complete; rejects if it was abandoned or `signal` aborts. */
  async until(bytes: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (this.#failure !== null) throw this.#failure;
      throwIfAborted(signal);
      if (this.#size !== null || this.#settled >= bytes) return;
      const woken = new Promise<void>((resolve) => (this.#wake = resolve));
      const onAbort = (): void => this.#notify();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await woken;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/**
 * Deflates one member's file while it is being written (see {@link FileGrowth}): each block as soon as it is
 * final, on the shared deflate slots; then, once the file is complete, its padding, and its header on its own
 * (the size is in it). The first block is deflated without the header before it as dictionary — the output is
 * a few bytes larger, the content the same.
 */
export async function deflateGrowing(
  spec: { name: string; file: string; mtime: Date; gzipLevel: number; out: string; signal?: AbortSignal | undefined },
  growth: FileGrowth,
): Promise<DeflatedSegment> {
  checkNames(spec.out, [spec]);
  return intoNewFile(spec.out, async (handle) => {
    const run = await deflateRun(handle, new GrowingSource(spec.out, spec, growth, spec.signal), spec.gzipLevel, spec.signal, 0, false);
    const size = growth.size!;
    const header = entryHeader(spec.name, size, spec.mtime);
    const deflated = await deflateBlock(header, spec.gzipLevel, undefined, false);
    const head = Buffer.from(deflated);
    outputs.give(deflated);
    return { file: spec.out, head, crc: crc32Combine(crc32(header, 0), run.crc, run.length), length: header.length + run.length, size };
  });
}

/** Copies a deflated segment into `out` at `position`, through a deflate slot's buffer; returns the new end. */
async function copySegment(out: FileHandle, segment: DeflatedSegment, position: number, signal: AbortSignal | undefined): Promise<number> {
  const input = await open(segment.file, 'r');
  const buffer = await slots.acquire();
  try {
    let at = segment.head === undefined ? position : await writeAll(out, [segment.head], position);
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return at;
      at = await writeAll(out, [buffer.subarray(0, bytesRead)], at);
    }
  } finally {
    slots.release(buffer);
    await input.close().catch(noop);
  }
}

/**
 * Deflates `source` into `out` from `position` on, in blocks deflated at once, written in order; the last
 * block ends the deflate stream when `final`, else with a sync flush. Returns the new end and the CRC-32 and
 * length of what it read. Whatever happens, it returns only once no deflate job of it is running and every
 * member file is closed.
 */
async function deflateRun(
  out: FileHandle,
  source: BlockSource,
  level: number,
  signal: AbortSignal | undefined,
  position: number,
  final: boolean,
): Promise<{ bytes: number; crc: number; length: number }> {
  let bytes = position;
  let crc = 0;
  let length = 0;
  const window = new Window();
  /** Per block, in order: settles once the block is written (or given up) and its output buffer given back. */
  const pending: Promise<void>[] = [];
  /** Deflate jobs of this run still running. */
  const running = new Set<Promise<unknown>>();
  let written: Promise<void> = Promise.resolve();
  let failure: unknown;
  try {
    while (!source.done) {
      throwIfAborted(signal);
      if (pending.length >= MAX_PENDING) await pending.shift();
      // A file still being written: wait for a whole block before taking a slot from the others.
      if (source.ready !== undefined) {
        await source.ready(GZIP_BLOCK);
        if (source.done) break;
      }
      const slot = await slots.acquire();
      let deflated: Promise<Buffer>;
      try {
        const n = await source.fill(slot);
        const input = slot.subarray(0, n);
        crc = crc32(input, crc);
        length += n;
        deflated = deflateBlock(input, level, window.dictionary, final && source.done);
        // The job copied the dictionary when it was made; the window moves on to this block's tail.
        window.push(input);
      } catch (err) {
        slots.release(slot);
        throw err;
      }
      const done = deflated.finally(() => {
        slots.release(slot);
        running.delete(done);
      });
      running.add(done);
      // Written strictly in order; a failed write fails every later block too. Each block's output buffer goes
      // back to the pool once written, or once the run has failed before it.
      const before = written;
      written = done.then(async (block) => {
        try {
          await before;
          bytes = await writeAll(out, [block], bytes);
        } finally {
          outputs.give(block);
        }
      });
      written.catch(noop);
      pending.push(written);
    }
    await written;
  } catch (err) {
    failure = err;
  } finally {
    // Return only once nothing of this run runs any more.
    await Promise.allSettled([...running, ...pending]);
    await source.close();
  }
  if (failure !== undefined) throw failure as Error;
  return { bytes, crc, length };
}

/**
 * Deflates one block as raw deflate: primed with `dictionary` (the 32 KiB before it) and ended with a sync
 * flush so that the next block's output follows on, or — for the last block — ended as the final block.
 * Resolves to the deflate data in a buffer of {@link outputs}, to be given back once written (a buffer not from
 * the pool, in the unexpected case that the data did not fit, is ignored by the pool).
 */
function deflateBlock(input: Buffer, level: number, dictionary: Buffer | undefined, last: boolean): Promise<Buffer> {
  const output = outputs.take();
  return new Promise((resolve, reject) => {
    let deflate: zlib.DeflateRaw;
    try {
      deflate = zlib.createDeflateRaw({
        level,
        memLevel: MEM_LEVEL,
        chunkSize: lendable ? zlib.constants.Z_MIN_CHUNK : GZIP_CHUNK,
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        ...(dictionary === undefined ? {} : { dictionary }),
      });
    } catch (err) {
      outputs.give(output);
      reject(err);
      return;
    }
    if (lendable && !lendOutput(deflate, output)) lendable = false;
    /** Bytes of deflate data in `output`; what did not fit after them, if anything. */
    let at = 0;
    let spilled: Buffer[] | undefined;
    deflate.on('data', (chunk: Buffer) => {
      if (chunk.buffer === output.buffer && chunk.byteOffset === output.byteOffset + at) {
        at += chunk.length; // zlib wrote it in place (a lent buffer)
      } else if (spilled === undefined && at + chunk.length <= output.length) {
        at += chunk.copy(output, at);
      } else {
        (spilled ??= []).push(chunk);
      }
    });
    deflate.on('error', (err) => {
      outputs.give(output);
      reject(err);
    });
    deflate.on('end', () => {
      if (spilled === undefined) {
        resolve(output.subarray(0, at));
        return;
      }
      const whole = Buffer.concat([output.subarray(0, at), ...spilled]);
      outputs.give(output);
      resolve(whole);
    });
    deflate.end(input);
  });
}

/** Whether zlib streams take a lent output buffer ({@link lendOutput}); false after the first that did not. */
let lendable = true;

/**
 * Has `deflate` write into `output` instead of a buffer of its own: Node's zlib stream allocates its output
 * buffer (`_outBuffer`, `_chunkSize` bytes) when made and again each time one fills, and pushes views of it.
 * Made with the smallest chunk size, the stream is handed `output` before its first write; the result is
 * checked as it comes (views of `output`, in order), else copied. False when the stream does not look as
 * expected (another Node): then it keeps its own buffers.
 */
function lendOutput(deflate: zlib.DeflateRaw, output: Buffer): boolean {
  const inner = deflate as unknown as { _outBuffer?: unknown; _outOffset?: unknown; _chunkSize?: unknown };
  const min = zlib.constants.Z_MIN_CHUNK;
  if (!(inner._outBuffer instanceof Uint8Array) || inner._outBuffer.length !== min || inner._chunkSize !== min || inner._outOffset !== 0) {
    return false;
  }
  inner._outBuffer = output;
  inner._chunkSize = output.length;
  return true;
}

/**
 * The deflate jobs' output buffers of this process, {@link OUTPUT_SIZE} bytes each: taken for a block, given
 * back once it is written. Up to {@link MAX_FREE_OUTPUTS} are kept free; more are left to the GC.
 */
class Outputs {
  readonly #free: Buffer[] = [];
  /** Buffers taken and not yet given back, by their memory. */
  readonly #taken = new Map<ArrayBufferLike, Buffer>();

  /** Buffers taken and not yet given back (tests). */
  get taken(): number {
    return this.#taken.size;
  }

  take(): Buffer {
    const output = this.#free.pop() ?? Buffer.allocUnsafeSlow(OUTPUT_SIZE);
    this.#taken.set(output.buffer, output);
    return output;
  }

  /** Gives back the buffer `block` is a view of; anything else (or a buffer given back already) is ignored. */
  give(block: Buffer): void {
    const output = this.#taken.get(block.buffer);
    if (output === undefined) return;
    this.#taken.delete(block.buffer);
    if (this.#free.length < MAX_FREE_OUTPUTS) this.#free.push(output);
  }
}

const outputs = new Outputs();

/** Deflate output buffers taken and not given back yet: none once every tarball is written or failed (tests). */
export function outputsInUse(): number {
  return outputs.taken;
}

/** The 32 KiB before the next block (the dictionary it is primed with), kept in one buffer per run. */
class Window {
  readonly #bytes = Buffer.allocUnsafe(WINDOW);
  #length = 0;

  /** The window as it is; zlib copies a dictionary when a stream is made, so it may change after that. */
  get dictionary(): Buffer | undefined {
    return this.#length === 0 ? undefined : this.#bytes.subarray(0, this.#length);
  }

  /** Moves the window on past `input`. */
  push(input: Buffer): void {
    if (input.length >= WINDOW) {
      input.copy(this.#bytes, 0, input.length - WINDOW);
      this.#length = WINDOW;
      return;
    }
    const keep = Math.min(this.#length, WINDOW - input.length);
    this.#bytes.copyWithin(0, this.#length - keep, this.#length);
    input.copy(this.#bytes, keep);
    this.#length = keep + input.length;
  }
}

/** gzip's 10-byte header as zlib writes it: no name, no mtime, XFL by level, OS Unix. */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
}

/**
 * The compression slots of this process: {@link SLOTS} buffers of {@link GZIP_BLOCK} bytes, made when first
 * needed and reused by every tarball. Taking one waits until one is free, in request order.
 */
class Slots {
  readonly #free: Buffer[] = [];
  readonly #waiting: ((slot: Buffer) => void)[] = [];
  #made = 0;

  acquire(): Promise<Buffer> {
    const slot = this.#free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    if (this.#made < SLOTS) {
      this.#made++;
      return Promise.resolve(Buffer.allocUnsafeSlow(GZIP_BLOCK));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(slot: Buffer): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(slot);
    else this.#free.push(slot);
  }
}

const slots = new Slots();

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError' });
  }
}

function entryHeader(name: string, size: number, mtime: Date): Buffer {
  const path = `./${name}`;
  const block = Buffer.alloc(TAR_BLOCK);
  const needsPax = new Header({ path, mode: 0o644, uid: 0, gid: 0, size, mtime, type: 'File' }).encode(block);
  // A name over 100 bytes (or a member over 8 GiB) also goes into a pax extended header before the entry.
  return needsPax ? Buffer.concat([new Pax({ path, size }).encode(), block]) : block;
}

/** Zero bytes after a member of `size` bytes, up to the next tar block. */
function paddingOf(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

function checkNames(path: string, members: readonly TarballMemberSpec[]): void {
  const seen = new Set<string>();
  for (const { name } of members) {
    if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw new TarballError(`writeTarball(${path}): member name ${JSON.stringify(name)} must be a plain file name such as jobs.csv`);
    }
    if (seen.has(name)) throw new TarballError(`writeTarball(${path}): member ${name} is given twice`);
    seen.add(name);
  }
}

async function memberSize(path: string, member: TarballMemberSpec): Promise<number> {
  if (member.bytes !== undefined) return member.bytes.length;
  const info = await stat(member.file).catch((err: unknown) => {
    throw new TarballError(`cannot pack ${member.file} as ${member.name} into ${path}: ${messageOf(err)}`, { cause: err });
  });
  if (!info.isFile()) throw new TarballError(`cannot pack ${member.file} as ${member.name} into ${path}: not a regular file`);
  return info.size;
}

/** Moves the finished partial file to `path` without ever replacing an existing file. */
async function publish(partial: string, path: string): Promise<void> {
  try {
    await link(partial, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw exists(path, err);
    if (code === undefined || !NO_LINK_CODES.has(code)) throw err;
    // No hard links on this file system: the run lock keeps other writers out, so check, then rename.
    if (await access(path).then(() => true, () => false)) throw exists(path, err);
    await rename(partial, path);
    return;
  }
  await rm(partial, { force: true }).catch(noop);
  // Make the new name durable too; some file systems cannot fsync a directory, which is fine.
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  await dir?.sync().catch(noop);
  await dir?.close().catch(noop);
}

function exists(path: string, cause: unknown): TarballError {
  return Object.assign(new TarballError(`${path} already exists and is never overwritten; choose another tarball name`, { cause }), {
    code: 'EEXIST',
  });
}

function wrap(path: string, err: unknown): Error {
  if (err instanceof TarballError || (err instanceof Error && err.name === 'AbortError')) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const error = new Error(`cannot write tarball ${path}: ${messageOf(err)}`, { cause: err });
  return code === undefined ? error : Object.assign(error, { code });
}

function noop(): void {}
