/**
 * What happens to a tarball after a `gather --ship` tried to send it (contract §5): shipped ones are deleted
 * (kept with `--keep`); failed ones move to `<output>/failed/`, where only the newest `ship.keepFailed` stay.
 * (`ship TARBALL...` never calls this: it leaves the files it is given alone.)
 */
import { copyFile, mkdir, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface SettleOptions {
  /** `--keep`: leave shipped tarballs where they are. */
  keep: boolean;
  /** The output directory; failed tarballs go to its `failed/` subdirectory. */
  output: string;
  /** `ship.keepFailed`: how many tarballs `failed/` keeps (the newest). */
  keepFailed: number;
}

/** Where the tarball ended up: `path` is its new location, null when it no longer exists. */
export type Settled =
  | { action: 'deleted'; path: null }
  | { action: 'kept'; path: string }
  | { action: 'moved'; path: string | null };

const TARBALL = /\.tar\.gz$/;

/** The first name in `dir` not yet taken, from `name`: `x.tar.gz`, `x.1.tar.gz`, `x.2.tar.gz`… */
async function freeName(dir: string, name: string): Promise<string> {
  const stem = name.replace(TARBALL, '');
  const ext = name.slice(stem.length);
  for (let n = 0; ; n++) {
    const candidate = join(dir, n === 0 ? name : `${stem}.${n}${ext}`);
    try {
      await stat(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return candidate;
      throw err;
    }
  }
}

/** Rename, or copy and delete when the failed directory is on another filesystem. */
async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}

/**
 * Deletes all but the newest `keep` tarballs in `dir` (newest by modification time, which `settleTarball` sets
 * to the time of the failure). Returns the deleted paths.
 */
export async function pruneFailed(dir: string, keep: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((name) => TARBALL.test(name));
  const entries = await Promise.all(
    names.map(async (name) => ({ path: join(dir, name), mtimeMs: (await stat(join(dir, name))).mtimeMs })),
  );
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs || b.path.localeCompare(a.path));
  const doomed = entries.slice(keep).map((e) => e.path);
  await Promise.all(doomed.map((path) => rm(path, { force: true })));
  return doomed;
}

/** Deletes, keeps or moves one tarball after its upload. */
export async function settleTarball(path: string, ok: boolean, options: SettleOptions): Promise<Settled> {
  if (ok) {
    if (options.keep) return { action: 'kept', path };
    await rm(path, { force: true });
    return { action: 'deleted', path: null };
  }
  const dir = join(options.output, 'failed');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = await freeName(dir, basename(path));
  await move(path, target);
  // "Newest" means most recently failed, not most recently written: a retried old tarball counts as new.
  const moment = new Date();
  await utimes(target, moment, moment);
  const pruned = await pruneFailed(dir, options.keepFailed);
  return { action: 'moved', path: pruned.includes(target) ? null : target };
}
