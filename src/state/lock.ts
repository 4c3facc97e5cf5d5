/**
 * The single-run lock on one machine (contract §4): a file `<stateFile>.lock` holding `{ pid, host, since }`.
 *
 * Taken without waiting. A lock whose process is gone (same host) is taken over; one from another host is
 * respected, since we cannot tell whether its process lives.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { AppError, messageOf } from '../errors.js';
import type { HeldLock, Locker } from '../types.js';

export interface FileLockerOptions {
  /** Clock for the `since` written into the lock; defaults to the system clock. */
  now?: () => Date;
  /** Host name written into the lock and compared with a holder's; defaults to `os.hostname()`. */
  hostname?: string;
  /** Process id written into the lock; defaults to `process.pid`. */
  pid?: number;
}

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

// Lock (and takeover) files this process holds. A holder naming our own pid that is not in here was left by
// an earlier process that had the same pid (common in containers, where the CLI often runs as pid 1).
const heldHere = new Set<string>();

// Each pass either takes the lock, finds it held (and throws), or clears away a lock that vanished or was
// stale; more passes than this means the lock is changing hands under us.
const MAX_ATTEMPTS = 5;

/**
 * A locker for the lock file at `lockPath`, created with O_EXCL and mode 0600 (parent directories 0700).
 *
 * @throws from `acquire()`: AppError('LOCKED') naming the holder and the lock file when it is held;
 *   AppError('USAGE') when the lock file cannot be created (permissions).
 */
export function fileLocker(lockPath: string, options: FileLockerOptions = {}): Locker {
  const path = resolve(lockPath);
  const host = options.hostname ?? osHostname();
  const pid = options.pid ?? process.pid;
  const now = options.now ?? (() => new Date());

  /** Gone for good: same host, and its process no longer exists. */
  const isStale = (holder: LockHolder, file: string): boolean =>
    holder.host === host && (holder.pid === process.pid ? !heldHere.has(file) : !processExists(holder.pid));

  return {
    async acquire(): Promise<HeldLock> {
      const content = `${JSON.stringify({ pid, host, since: now().toISOString() })}\n`;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((err) => {
        throw cannotCreate(path, err);
      });
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (await createExclusive(path, content)) return heldLock(path, content);
        const found = await readLockFile(path);
        if (found === undefined) continue; // released between our attempt and the read
        if (found.holder === null || !isStale(found.holder, path)) throw lockedError(path, found, host);
        await removeStale(path, found.raw, content, isStale);
      }
      throw new AppError('LOCKED', `the lock ${path} kept changing hands while we tried to take it; try again`);
    },
  };
}

/**
 * Deletes the stale lock at `path` if it still holds `staleRaw`. Two processes that both found the same stale
 * lock must not both delete "it": the second would delete the fresh lock the first has just created. So the
 * check-and-delete happens under a short-lived second lock, `<path>.takeover`. (A takeover lock left by a crash
 * inside this function is itself cleared when its process is gone.)
 */
async function removeStale(
  path: string,
  staleRaw: string,
  content: string,
  isStale: (holder: LockHolder, file: string) => boolean,
): Promise<void> {
  const mutex = `${path}.takeover`;
  if (!(await createExclusive(mutex, content))) {
    const other = await readLockFile(mutex);
    if (other === undefined) return; // that takeover just finished; the caller looks again
    if (other.holder !== null && isStale(other.holder, mutex)) {
      await unlink(mutex).catch(ignoreMissing);
      return;
    }
    throw new AppError(
      'LOCKED',
      `another process (${describeHolder(other)}) is taking over the stale lock ${path} right now; if no gather is running, delete ${mutex}`,
    );
  }
  heldHere.add(mutex);
  try {
    const current = await readFile(path, 'utf8').catch((err) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(err)));
    if (current === staleRaw) await unlink(path).catch(ignoreMissing);
  } finally {
    await unlink(mutex).catch(ignoreMissing);
    heldHere.delete(mutex);
  }
}

function heldLock(path: string, content: string): HeldLock {
  heldHere.add(path);
  let releasing: Promise<void> | undefined;
  return {
    // Idempotent and never rejects, so both a finally block and a signal handler may call it, in any order.
    // It deletes the file only while it still holds our content; a lock we fail to delete names our pid,
    // which the next run on this host finds gone and takes over.
    release(): Promise<void> {
      releasing ??= (async () => {
        try {
          if ((await readFile(path, 'utf8')) === content) await unlink(path);
        } catch {
          // Already gone, or unreadable: either way nothing more we can safely do.
        } finally {
          heldHere.delete(path);
        }
      })();
      return releasing;
    },
  };
}

/** Creates `path` with `content` only if it does not exist; false when it does. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx', 0o600);
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw cannotCreate(path, err);
  }
  try {
    await file.chmod(0o600); // exact, whatever the umask
    await file.writeFile(content, 'utf8');
    await file.close();
    return true;
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw cannotCreate(path, err);
  }
}

interface LockFile {
  raw: string;
  /** null when the content does not name a holder (being written this instant, or damaged). */
  holder: LockHolder | null;
}

/** The lock file's content, or undefined when there is none. */
async function readLockFile(path: string): Promise<LockFile | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    // Most likely another user's gather: its lock file is mode 0600.
    throw new AppError('LOCKED', `the lock ${path} exists but cannot be read (${messageOf(err)}); another user's gather may hold it`, { cause: err });
  }
  return { raw, holder: parseHolder(raw) };
}

function parseHolder(raw: string): LockHolder | null {
  try {
    const data: unknown = JSON.parse(raw);
    if (typeof data !== 'object' || data === null) return null;
    const { pid, host, since } = data as Record<string, unknown>;
    // A pid <= 0 would signal a whole process group in processExists().
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return null;
    if (typeof host !== 'string' || host === '' || typeof since !== 'string') return null;
    return { pid: pid as number, host, since };
  } catch {
    return null;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return errnoCode(err) !== 'ESRCH';
  }
}

function lockedError(path: string, found: LockFile, host: string): AppError {
  if (found.holder === null) {
    return new AppError(
      'LOCKED',
      `the lock ${path} is held but does not say by whom (content ${JSON.stringify(found.raw.slice(0, 80))}); if no gather is running, delete it`,
    );
  }
  const advice =
    found.holder.host === host
      ? `wait for it to finish; if pid ${found.holder.pid} is no gather, delete the lock file`
      : `a lock from another host is never taken over; wait for it, or if no gather runs on ${found.holder.host}, delete the lock file`;
  return new AppError('LOCKED', `another gather holds the lock ${path} (${describeHolder(found)}); ${advice}`);
}

function describeHolder(found: LockFile): string {
  const { holder } = found;
  return holder === null ? 'holder unknown' : `pid ${holder.pid} on host ${holder.host} since ${holder.since}`;
}

function cannotCreate(path: string, err: unknown): AppError {
  return new AppError(
    'USAGE',
    `cannot create the lock file ${path} (${messageOf(err)}); fix the permissions of its directory or set stateFile elsewhere`,
    { cause: err },
  );
}

function ignoreMissing(err: unknown): void {
  if (errnoCode(err) !== 'ENOENT') throw err;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
