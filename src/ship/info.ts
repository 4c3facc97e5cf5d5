/**
 * ShipInfo for a tarball on disk, for `ship TARBALL...` (contract §5), where the pipeline that wrote the tarball
 * is not there to say what is in it. Reads the tar headers only; the data is skipped, not kept.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { list } from 'tar';
import { messageOf, usageError } from '../errors.js';
import type { ShipInfo } from '../types.js';

/**
 * Lists `path`'s members with their sizes. `until` is the entries' mtime (tarballs we write stamp every entry
 * with the run's `until`), `since` is unknown (null) and the shipping group `default`. An unreadable or
 * damaged file is AppError('USAGE') naming it.
 */
export async function shipInfoFromFile(path: string): Promise<ShipInfo> {
  let bytes: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) throw new Error('not a regular file');
    bytes = stats.size;
  } catch (err) {
    throw usageError(`${path}: cannot read this tarball (${(err as NodeJS.ErrnoException).code ?? messageOf(err)}); give the path of a .tar.gz file`, err);
  }
  const members: ShipInfo['members'] = [];
  let until: Date | null = null;
  try {
    await list({
      file: path,
      strict: true,
      onReadEntry: (entry) => {
        members.push({ name: entry.path.replace(/^\.\//, ''), size: entry.size ?? 0 });
        until ??= entry.mtime ?? null;
      },
    });
  } catch (err) {
    throw usageError(`${path}: not a readable .tar.gz (${messageOf(err)}); give a tarball written by analytics-collect`, err);
  }
  if (members.length === 0) throw usageError(`${path}: the tarball is empty; give a tarball written by analytics-collect`);
  return { fileName: basename(path), bytes, members, since: null, until: until ?? new Date(0), shippingGroup: 'default' };
}
