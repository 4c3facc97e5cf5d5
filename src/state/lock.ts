/**
 * The single-run lock on one machine (contract §4): a file `<stateFile>.lock` holding `{ pid, host, since }`.
 *
 * Taken without waiting. The holder refreshes the file's modification time every 30 seconds (the heartbeat).
 * A lock whose process is gone (same host) is taken over; so is one, from any host, not refreshed for
 * `staleMs` (a container restarted with a new hostname), with a warning naming its holder. A fresh lock from
 * another host is respected. The lock file is never followed when it is a symbolic link, never read past a few
 * KiB, and its content is never quoted.
 */
import { constants } from 'node:fs';
import { lutimes, mkdir, open, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { MAX_TIMER_MS } from '../config/schema.js';
import { AppError, messageOf } from '../errors.js';
import type { Locker } from '../types.js';

export interface FileLockerOptions {
  /** Clock for the `since` written into the lock; defaults to the system clock. */
  now?: () => Date;
  /** Host name written into the lock and compared with a holder's; defaults to `os.hostname()`. */
  hostname?: string;
  /** Process id written into the lock; defaults to `process.pid`. */
  pid?: number;
  /** A lock not refreshed for this long is taken over from any host (`lockStaleMs`); default 10 minutes. */
  staleMs?: number;
  /** How often the holder refreshes the lock file's modification time; default 30 seconds. */
  heartbeatMs?: number;
  /** Told when a stale lock of another process is taken over (the CLI logs it as a warning). */
  warn?: (message: string) => void;
}

/** A held file lock: `onLost` listeners hear when the heartbeat finds the lock gone or taken over. */
export interface FileHeldLock {
  release(): Promise<void>;
  onLost(listener: (err: Error) => void): void;
  describeHolder(): string;
}

/** A `Locker` whose held lock has the heartbeat's `onLost` and `describeHolder`. */
export interface FileLocker extends Locker {
  acquire(): Promise<FileHeldLock>;
}

export const DEFAULT_LOCK_STALE_MS = 600_000;
export const DEFAULT_HEARTBEAT_MS = 30_000;
/** A lock file is tiny; reading more than this would mean it is something else. */
const MAX_LOCK_BYTES = 4096;

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
export function fileLocker(lockPath: string, options: FileLockerOptions = {}): FileLocker {
  const path = resolve(lockPath);
  const host = options.hostname ?? osHostname();
  const pid = options.pid ?? process.pid;
  const now = options.now ?? (() => new Date());
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const heartbeatMs = Math.min(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, MAX_TIMER_MS);

  /** Why `found` may be taken over, or null when it must be respected. */
  const staleness = (found: LockFile, file: string): string | null => {
    const { holder } = found;
    if (holder !== null && holder.host === host && (holder.pid === process.pid ? !heldHere.has(file) : !processExists(holder.pid))) {
      return 'its process is gone';
    }
    const age = Date.now() - found.mtimeMs;
    return age > staleMs ? `not refreshed for ${Math.round(age / 1000)} s (lockStaleMs ${staleMs})` : null;
  };

  return {
    async acquire(): Promise<FileHeldLock> {
      const content = `${JSON.stringify({ pid, host, since: now().toISOString() })}\n`;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((err) => {
        throw cannotCreate(path, err);
      });
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (await createExclusive(path, content)) return heldLock(path, content, heartbeatMs);
        const found = await readLockFile(path);
        if (found === undefined) continue; // released between our attempt and the read
        const why = staleness(found, path);
        if (why === null) throw lockedError(path, found, host);
        if (await removeStale(path, found, content, staleness)) {
          // A dead process on this host is routine (a crash, a reboot); a stale lock from elsewhere deserves a word.
          if (found.holder === null || found.holder.host !== host || why !== 'its process is gone') {
            options.warn?.(`took over the lock ${path} from ${describeHolder(found)}: ${why}`);
          }
        }
      }
      throw new AppError('LOCKED', `the lock ${path} kept changing hands while we tried to take it; try again`);
    },
  };
}

/**
 * Deletes the stale lock at `path` if it is still the one found stale. Two processes that both found the same
 * stale lock must not both delete "it": the second would delete the fresh lock the first has just created. So the
 * check-and-delete happens under a short-lived second lock, `<path>.takeover`. (A takeover lock left by a crash
 * inside this function is itself cleared when its process is gone or it is stale.) True when it was deleted.
 */
async function removeStale(
  path: string,
  stale: LockFile,
  content: string,
  staleness: (found: LockFile, file: string) => string | null,
): Promise<boolean> {
  const mutex = `${path}.takeover`;
  if (!(await createExclusive(mutex, content))) {
    const other = await readLockFile(mutex);
    if (other === undefined) return false; // that takeover just finished; the caller looks again
    if (staleness(other, mutex) !== null) {
      await unlink(mutex).catch(ignoreMissing);
      return false;
    }
    throw new AppError(
      'LOCKED',
      `another process (${describeHolder(other)}) is taking over the stale lock ${path} right now; if no gather is running, delete ${mutex}`,
    );
  }
  heldHere.add(mutex);
  try {
    // Still the same content, and still stale (a heartbeat may have refreshed it since).
    const current = await readLockFile(path);
    if (current === undefined || current.raw !== stale.raw || staleness(current, path) === null) return false;
    await unlink(path).catch(ignoreMissing);
    return true;
  } finally {
    await unlink(mutex).catch(ignoreMissing);
    heldHere.delete(mutex);
  }
}

function heldLock(path: string, content: string, heartbeatMs: number): FileHeldLock {
  heldHere.add(path);
  let releasing: Promise<void> | undefined;
  const listeners: ((err: Error) => void)[] = [];
  let lost: Error | null = null;
  const holder = parseHolder(content);
  const loseIt = (err: Error): void => {
    if (lost !== null || releasing !== undefined) return;
    lost = err;
    clearInterval(timer);
    heldHere.delete(path);
    for (const listener of listeners.splice(0)) listener(err);
  };
  // The heartbeat: proves this holder alive to others; finds out when someone else took the lock.
  const beat = async (): Promise<void> => {
    let found: LockFile | undefined;
    try {
      found = await readLockFile(path);
    } catch {
      return; // unreadable this once: try again at the next beat
    }
    if (releasing !== undefined) return;
    if (found?.raw !== content) {
      const by = found === undefined ? 'it was deleted' : `it is held by ${describeHolder(found)} now`;
      loseIt(new AppError('LOCKED', `lost the lock ${path}: ${by}; the state is not written by this run`));
      return;
    }
    const at = new Date();
    await lutimes(path, at, at).catch(() => undefined);
  };
  const timer = setInterval(() => void beat(), heartbeatMs);
  timer.unref();
  return {
    // Idempotent and never rejects, so both a finally block and a signal handler may call it, in any order.
    // It deletes the file only while it still holds our content; a lock we fail to delete names our pid,
    // which the next run on this host finds gone and takes over.
    release(): Promise<void> {
      clearInterval(timer);
      releasing ??= (async () => {
        try {
          if (lost === null && (await readLockFile(path))?.raw === content) await unlink(path);
        } catch {
          // Already gone, or unreadable: either way nothing more we can safely do.
        } finally {
          heldHere.delete(path);
        }
      })();
      return releasing;
    },
    onLost(listener: (err: Error) => void): void {
      if (lost !== null) listener(lost);
      else listeners.push(listener);
    },
    describeHolder: () => (holder === null ? `lock file ${path}` : `pid ${holder.pid} on host ${holder.host} (lock file ${path})`),
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
  /** Last refreshed (the heartbeat touches it). */
  mtimeMs: number;
}

/**
 * The lock file's content, or undefined when there is none. Opened without following a symbolic link and
 * without blocking (a FIFO), read to a few KiB at most: a lock file that is something else is refused (exit 2).
 */
async function readLockFile(path: string): Promise<LockFile | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP' || code === 'EMLINK') throw notALock(path, 'is a symbolic link');
    // Most likely another user's gather: its lock file is mode 0600.
    throw new AppError('LOCKED', `the lock ${path} exists but cannot be read (${errnoCode(err) ?? 'error'}); another user's gather may hold it`, { cause: err });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notALock(path, 'is not a regular file');
    const buffer = Buffer.alloc(MAX_LOCK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, MAX_LOCK_BYTES, 0);
    const raw = buffer.subarray(0, bytesRead).toString('utf8');
    return { raw, holder: bytesRead < MAX_LOCK_BYTES ? parseHolder(raw) : null, mtimeMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** A lock path that holds something analytics-collect never creates there: a usage problem (exit 2). */
function notALock(path: string, what: string): AppError {
  return new AppError('USAGE', `the lock file ${path} ${what}, which analytics-collect never creates; if no gather is running, delete it`);
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
      `the lock ${path} is held but does not say by whom (it is not a lock file analytics-collect wrote, or is being written); if no gather is running, delete it`,
    );
  }
  const advice =
    found.holder.host === host
      ? `wait for it to finish; if pid ${found.holder.pid} is no gather, delete the lock file`
      : `a lock from another host is taken over only when not refreshed for lockStaleMs; wait for it, or if no gather runs on ${found.holder.host}, delete the lock file`;
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
