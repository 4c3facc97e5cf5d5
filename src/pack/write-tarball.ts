/**
 * Writes one `.tar.gz` tarball from files on disk (contract §3), and reads one back for `inspect` and the ship
 * upload guard.
 *
 * Entry headers are encoded with tar's own `Header` (and `Pax` for names over 100 bytes) from fields we set,
 * not from `lstat` of the staging files: tar's `Pack` would take mode, owner, user name and times from the
 * staging file and then need patching, may turn a file with several hard links into a link entry, and leaves
 * the current file descriptor open when it is destroyed midway (an abort). The body of each entry streams from
 * its file. Compression is Node's `zlib` gzip, which runs on the libuv thread pool, so several tarballs can
 * compress at once while the main thread goes on (tar's own gzip option compresses on the main thread).
 *
 * The tarball is written to a `.partial` file beside its final path, fsynced, then hard-linked into place:
 * a link never replaces an existing file, so nothing is overwritten and no half-written tarball ever carries
 * the final name.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax, list, type ReadEntry } from 'tar';
import { messageOf, usageError } from '../errors.js';

/** A member to pack: its name in the tarball (without `./`) and the file holding its bytes. */
export interface TarballMemberFile {
  /** e.g. `jobs.csv`; the tar entry is `./jobs.csv`. No `/`. */
  name: string;
  file: string;
}

export interface TarballSpec {
  /** Final path of the tarball; it must not exist yet. */
  path: string;
  /** Members in tar order. */
  members: readonly TarballMemberFile[];
  /** mtime of every entry (the run's `until`), in whole seconds. */
  mtime: Date;
  /** gzip level 1–9. */
  gzipLevel: number;
  /**
   * Accepted for symmetry with the other stages but not used: the partial file is written beside `path`
   * (as `.<name>.<random>.partial`) so that moving it into place is atomic.
   */
  tmpDir?: string;
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

const BLOCK = 512;
const ZEROS = Buffer.alloc(2 * BLOCK);
/** Read size of member files; large reads mean few, large writes into gzip. */
const READ_CHUNK = 1024 * 1024;
/** gzip output buffer: 64 KiB instead of 16 KiB means fewer thread-pool round trips and file writes. */
const GZIP_CHUNK = 64 * 1024;
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
    await pipeline(
      tarStream(path, entries, spec.mtime),
      createGzip({ level: spec.gzipLevel, chunkSize: GZIP_CHUNK }),
      // The numeric fd, not handle.createWriteStream(): a FileHandle stream without autoClose keeps a reference
      // that makes handle.close() wait forever, and with autoClose we could not fsync before closing.
      createWriteStream(partial, { fd: handle.fd, autoClose: false }),
      { signal },
    );
    await handle.sync();
    const { size } = await handle.stat();
    handleOpen = false;
    await handle.close();
    signal?.throwIfAborted();
    await publish(partial, path);
    return { bytes: size, members: entries.map(({ name, size: memberBytes }) => ({ name, size: memberBytes })) };
  } catch (err) {
    if (handleOpen) await handle.close().catch(noop);
    await rm(partial, { force: true }).catch(noop);
    throw wrap(path, err);
  }
}

/** The tar stream: per member a header block, the file's bytes, zero padding to a block; then two zero blocks. */
async function* tarStream(path: string, entries: (TarballMemberFile & TarballMember)[], mtime: Date): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield entryHeader(entry.name, entry.size, mtime);
    let read = 0;
    try {
      for await (const chunk of createReadStream(entry.file, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
        read += chunk.length;
        if (read > entry.size) break;
        yield chunk;
      }
    } catch (err) {
      throw new TarballError(`cannot pack ${entry.file} as ${entry.name} into ${path}: ${messageOf(err)}`, { cause: err });
    }
    if (read !== entry.size) {
      throw new TarballError(
        `cannot pack ${entry.file} as ${entry.name} into ${path}: it changed size while being packed; nothing may write to it then`,
      );
    }
    const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    if (padding > 0) yield ZEROS.subarray(0, padding);
  }
  yield ZEROS;
}

function entryHeader(name: string, size: number, mtime: Date): Buffer {
  const path = `./${name}`;
  const block = Buffer.alloc(BLOCK);
  const needsPax = new Header({ path, mode: 0o644, uid: 0, gid: 0, size, mtime, type: 'File' }).encode(block);
  // A name over 100 bytes (or a member over 8 GiB) also goes into a pax extended header before the entry.
  return needsPax ? Buffer.concat([new Pax({ path, size }).encode(), block]) : block;
}

function checkNames(path: string, members: readonly TarballMemberFile[]): void {
  const seen = new Set<string>();
  for (const { name } of members) {
    if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw new TarballError(`writeTarball(${path}): member name ${JSON.stringify(name)} must be a plain file name such as jobs.csv`);
    }
    if (seen.has(name)) throw new TarballError(`writeTarball(${path}): member ${name} is given twice`);
    seen.add(name);
  }
}

async function memberSize(path: string, member: TarballMemberFile): Promise<number> {
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

/** What {@link readTarball} found. */
export interface TarballContents {
  /** File members in tar order: name without `./`, uncompressed size. Directories and links are left out. */
  members: TarballMember[];
  /**
   * The bytes of one member (name without `./`). Members picked by `keep` were read during the listing; any
   * other is read with another pass over the tarball. Meant for small members such as `manifest.json`.
   * Rejects with a usage error (exit 2) when there is no such member.
   */
  read(name: string): Promise<Buffer>;
}

export interface ReadTarballOptions {
  /** Members to hold in memory while listing. Default: each up to 1 MiB, 16 MiB in all. */
  keep?: (member: TarballMember) => boolean;
}

const KEEP_EACH = 1024 * 1024;
const KEEP_TOTAL = 16 * 1024 * 1024;

/**
 * Lists a tarball (gzip-compressed or not) in one streaming pass. A missing, unreadable, truncated or corrupt
 * file rejects with a usage error (`AppError` code `USAGE`, exit 2) naming it.
 */
export async function readTarball(path: string, options: ReadTarballOptions = {}): Promise<TarballContents> {
  let keptBytes = 0;
  const keep =
    options.keep ??
    ((member: TarballMember): boolean => {
      if (member.size > KEEP_EACH || keptBytes + member.size > KEEP_TOTAL) return false;
      keptBytes += member.size;
      return true;
    });
  const members: TarballMember[] = [];
  const kept = new Map<string, Buffer>();
  await scanTarball(path, (entry, member) => {
    members.push(member);
    if (keep(member)) collect(entry, (bytes) => kept.set(member.name, bytes));
  });
  return {
    members,
    async read(name) {
      const bytes = kept.get(name);
      if (bytes !== undefined) return bytes;
      if (!members.some((m) => m.name === name)) {
        throw usageError(`${path} has no member ${name}; its members are ${members.map((m) => m.name).join(', ') || 'none'}`);
      }
      let found: Buffer | undefined;
      await scanTarball(path, (entry, member) => {
        if (member.name === name && found === undefined) collect(entry, (b) => (found = b));
      });
      if (found === undefined) throw usageError(`cannot read member ${name} of ${path}: it changed while being read`);
      return found;
    },
  };
}

async function scanTarball(path: string, onMember: (entry: ReadEntry, member: TarballMember) => void): Promise<void> {
  try {
    await list({
      file: path,
      strict: true,
      onReadEntry: (entry) => {
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') return;
        onMember(entry, { name: entry.path.replace(/^(\.\/)+/, ''), size: entry.size });
      },
    });
  } catch (err) {
    throw usageError(`cannot read tarball ${path}: ${messageOf(err)}; give the path of a .tar.gz written by analytics-collect`, err);
  }
}

function collect(entry: ReadEntry, done: (bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  entry.on('data', (chunk: Buffer) => chunks.push(chunk));
  entry.on('end', () => done(Buffer.concat(chunks)));
}

function noop(): void {}
