/**
 * `--output` and `tmpDir` must be directories this process can write (contract §7: exit 2, before any collector
 * runs). Nothing is left here (a probe directory is made and removed at once): a missing directory is fine when its nearest existing ancestor is a writable
 * directory (the run creates it later), so a run stopped by a later check leaves nothing behind.
 */
import { mkdtemp, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Stats } from 'node:fs';
import { usageError } from '../errors.js';
import type { ResolvedConfig } from './types.js';

/** What a path is, for messages. */
function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a file';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  return 'not a directory';
}

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** Creates and removes an empty directory in `dir`; the problem in words, or null when it worked. */
async function probe(dir: string): Promise<string | null> {
  try {
    await rmdir(await mkdtemp(join(dir, '.analytics-collect-probe-')));
    return null;
  } catch (err) {
    const why = code(err);
    if (why === 'EROFS') return 'is on a read-only file system';
    if (why === 'EACCES' || why === 'EPERM') return 'is not writable (permission denied)';
    if (why === 'ENOSPC' || why === 'EDQUOT') return 'has no space left';
    return `is not writable (${why ?? 'error'})`;
  }
}

/** The problem with using `path` as a writable directory, or null. */
export async function directoryProblem(path: string): Promise<string | null> {
  let current = path;
  for (;;) {
    let stats: Stats;
    try {
      stats = await stat(current);
    } catch (err) {
      const why = code(err);
      // ENOTDIR: a part of the path is a file; walking up finds which one.
      if ((why === 'ENOENT' || why === 'ENOTDIR') && dirname(current) !== current) {
        current = dirname(current);
        continue;
      }
      if (why === 'ELOOP') return `cannot be used: too many symbolic links at ${current}`;
      if (why === 'EACCES') return `cannot be used: permission denied at ${current}`;
      if (why === 'ENAMETOOLONG') return 'cannot be used: the path is too long';
      return `cannot be used (${why ?? 'error'} at ${current})`;
    }
    if (!stats.isDirectory()) {
      return current === path ? `is ${kindOf(stats)}, not a directory` : `cannot be created: ${current} is ${kindOf(stats)}`;
    }
    // A real proof, not access(): root passes access() even where nothing can be made (/proc, read-only mounts).
    const problem = await probe(current);
    if (problem !== null) return current === path ? problem : `cannot be created: ${current} ${problem}`;
    return null;
  }
}

/**
 * Checks the output directory, then tmpDir (§7 order). Throws AppError('USAGE') naming the path, where it came
 * from and the fix.
 */
export async function checkLocations(config: Pick<ResolvedConfig, 'output' | 'tmpDir' | 'configFile'>): Promise<void> {
  const where = config.configFile ? ` in ${config.configFile}` : '';
  const output = await directoryProblem(config.output);
  if (output !== null) {
    throw usageError(`output directory ${config.output} ${output}; give a writable directory with --output or "output"${where}`);
  }
  const tmp = await directoryProblem(config.tmpDir);
  if (tmp !== null) {
    throw usageError(`tmpDir ${config.tmpDir} ${tmp}; set "tmpDir"${where} to a writable directory`);
  }
}
