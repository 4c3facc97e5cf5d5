/**
 * Reads a `.tar.gz` tarball back (for `inspect` and the tests): its members in one streaming pass, and the
 * bytes of small members. Writing one is `write-tarball.ts`.
 */
import { list, type ReadEntry } from 'tar';
import { messageOf, usageError } from '../errors.js';
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
