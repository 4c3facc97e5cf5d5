/**
 * Reads a `.tar.gz` tarball back (for `inspect` and the tests): its members in one streaming pass, and the
 * bytes of small members. Writing one is `write-tarball.ts`.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { AppError, messageOf, usageError } from '../errors.js';
import type { TarballMember } from './write-tarball.js';

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

/**
 * One streaming pass over a tarball (gzip-compressed or not): `onMember` sees each file entry (directories and
 * links are left out) and may consume it (`collect`, a pipe); what it leaves is skipped. An error thrown by
 * `onMember`, or `signal` aborting, ends the pass at once — nothing more is read or inflated — and rejects with
 * that error; a missing, truncated or corrupt file rejects with a usage error naming it.
 *
 * The gzip layer is Node's streaming zlib, not tar's: tar inflates each chunk it is given whole, so a small
 * tarball of zeros would become tens of MiB in memory before its first header is even looked at. Here the tar
 * parser gets 64 KiB at a time, and the next only once it took the last (backpressure through to the file).
 */
export async function scanTarball(
  path: string,
  onMember: (entry: ReadEntry, member: TarballMember) => void,
  signal?: AbortSignal,
): Promise<void> {
  let failure: { error: unknown } | null = null;
  const stopped = new AbortController();
  const fail = (err: unknown): void => {
    if (failure !== null) return;
    failure = { error: err instanceof AppError ? err : unreadable(path, err) };
    stopped.abort(failure.error);
  };
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (failure === null && (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile')) {
        try {
          onMember(entry, { name: entry.path.replace(/^(\.\/)+/, ''), size: entry.size });
        } catch (err) {
          fail(err);
        }
      }
      entry.resume();
    },
  });
  parser.on('error', fail);
  const ended = new Promise<void>((resolveEnd) => parser.on('end', () => resolveEnd()));
  const onAbort = (): void => fail(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const gzipped = await isGzip(path).catch((err: unknown) => {
      fail(err);
      return false;
    });
    const source = createReadStream(path, { highWaterMark: CHUNK });
    const input: Readable = gzipped ? source.pipe(createGunzip({ chunkSize: CHUNK })) : source;
    if (gzipped) source.on('error', (err) => input.destroy(err));
    try {
      for await (const chunk of input.iterator({ destroyOnReturn: true })) {
        if (failure !== null) break;
        if (!parser.write(chunk as Buffer)) await drained(parser, stopped.signal);
      }
      if (failure === null) {
        parser.end();
        await Promise.race([ended, aborted(stopped.signal)]);
      }
    } catch (err) {
      fail(err);
    } finally {
      source.destroy();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== null) {
    parser.abort(new Error('stopped'));
    throw (failure as { error: unknown }).error;
  }
}

const CHUNK = 64 * 1024;

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Resolves once the parser wants more, or when the pass is stopped (then the caller sees the failure). */
function drained(parser: Parser, stop: AbortSignal): Promise<void> {
  return new Promise((resolveDrain) => {
    const done = (): void => {
      parser.off('drain', done);
      stop.removeEventListener('abort', done);
      resolveDrain();
    };
    parser.on('drain', done);
    stop.addEventListener('abort', done, { once: true });
  });
}

function aborted(stop: AbortSignal): Promise<void> {
  return new Promise((resolveStop) => {
    if (stop.aborted) resolveStop();
    else stop.addEventListener('abort', () => resolveStop(), { once: true });
  });
}

const unreadable = (path: string, err: unknown): AppError =>
  usageError(`cannot read tarball ${path}: ${messageOf(err)}; give the path of a .tar.gz written by analytics-collect`, err);

function collect(entry: ReadEntry, done: (bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  entry.on('data', (chunk: Buffer) => chunks.push(chunk));
  entry.on('end', () => done(Buffer.concat(chunks)));
}

/** What {@link readSmallMembers} found: every file member, and the bytes of the ones asked for. */
export interface TarballListing {
  members: TarballMember[];
  /** By member name: the bytes of each member asked for that the tarball holds. */
  bytes: Map<string, Buffer>;
}

/**
 * Lists a tarball in one pass and reads the members named in `names` (such as `manifest.json`), each at most
 * `maxBytes`: a larger one rejects with a usage error as soon as its header is read, before it is inflated.
 * Nothing else is held in memory, however large the tarball.
 */
export async function readSmallMembers(path: string, names: readonly string[], maxBytes: number): Promise<TarballListing> {
  const members: TarballMember[] = [];
  const bytes = new Map<string, Buffer>();
  await scanTarball(path, (entry, member) => {
    members.push(member);
    if (!names.includes(member.name) || bytes.has(member.name)) return;
    if (member.size > maxBytes) {
      throw usageError(
        `${path}: its ${member.name} would inflate to ${member.size} bytes, over the ${maxBytes / MIB} MiB an analytics-collect tarball's ${member.name} can hold; not read`,
      );
    }
    collect(entry, (b) => bytes.set(member.name, b));
  });
  return { members, bytes };
}

/**
 * Streams the bytes of member `name` into `out` (with its backpressure), without holding it in memory.
 * Resolves once they are written: `found: false` when the tarball has no such member. When `out` fails (a
 * reader that went away, as `| head` does), the pass stops at once and resolves as found.
 */
export async function streamMember(path: string, name: string, out: NodeJS.WritableStream): Promise<{ found: boolean; members: TarballMember[] }> {
  const members: TarballMember[] = [];
  let found = false;
  const stopped = new AbortController();
  const onError = (err: unknown): void => stopped.abort(err);
  out.on('error', onError);
  try {
    let copied: Promise<void> = Promise.resolve();
    await scanTarball(
      path,
      (entry, member) => {
        members.push(member);
        if (member.name !== name || found) return;
        found = true;
        copied = new Promise((resolveCopy) => entry.on('end', () => resolveCopy()));
        entry.pipe(out as never, { end: false });
      },
      stopped.signal,
    );
    await copied;
  } catch (err) {
    if (!stopped.signal.aborted) throw err;
  } finally {
    out.off('error', onError);
  }
  return { found, members };
}

const MIB = 1024 * 1024;
