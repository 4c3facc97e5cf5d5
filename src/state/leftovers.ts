/**
 * Leftovers of runs killed without unwinding (SIGKILL, the OOM killer, a power cut; contract §3): the run
 * directory under tmpDir and `.partial` tarballs in the output directory. The next run that takes the lock
 * removes them: it alone may write to this output now. Run directories are named
 * `analytics-collect-run-<pid>-<random>` so that one of a live process (another project sharing tmpDir) is
 * recognised and left alone; only those whose process is gone (or is this process, which did not create it:
 * a container where every run is pid 1) are removed.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const RUN_DIR_PREFIX = 'analytics-collect-run-';
const RUN_DIR = /^analytics-collect-run-(\d+)-[A-Za-z0-9]{6}$/;
/** `.<tarball name>.<12 hex>.partial`, as the tarball writer names them. */
const PARTIAL = /^\..+\.[0-9a-f]{12}\.partial$/;

/** Run directories this process created (and so knows to be its own, whatever its pid). */
const createdHere = new Set<string>();

/** Creates this run's temporary directory under `tmpDir` (created 0700 if missing). */
export async function createRunDir(tmpDir: string): Promise<string> {
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpDir, `${RUN_DIR_PREFIX}${process.pid}-`));
  createdHere.add(dir);
  return dir;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LeftoverOptions {
  /** Whether a process lives; default: signal 0. */
  isAlive?: (pid: number) => boolean;
}

export interface Leftovers {
  runDirs: string[];
  partials: string[];
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/**
 * Removes leftovers of earlier runs. Call it only while holding the run lock. Never throws: a leftover that
 * cannot be removed stays for the next run. Returns what it removed.
 */
export async function cleanLeftovers(
  config: { tmpDir: string; output: string },
  options: LeftoverOptions = {},
): Promise<Leftovers> {
  const isAlive = options.isAlive ?? processExists;
  const removed: Leftovers = { runDirs: [], partials: [] };
  for (const name of await names(config.tmpDir)) {
    const match = RUN_DIR.exec(name);
    if (!match) continue;
    const path = join(config.tmpDir, name);
    const pid = Number(match[1]);
    const mine = pid === process.pid;
    if (mine ? createdHere.has(path) : pid > 0 && isAlive(pid)) continue;
    if (await rm(path, { recursive: true, force: true }).then(() => true, () => false)) removed.runDirs.push(path);
  }
  for (const name of await names(config.output)) {
    if (!PARTIAL.test(name)) continue;
    const path = join(config.output, name);
    if (await rm(path, { force: true }).then(() => true, () => false)) removed.partials.push(path);
  }
  return removed;
}
