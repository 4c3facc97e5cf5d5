/**
 * The history file's own short lock (contract §9): `<historyFile>.lock`, taken only around one read-modify-write
 * of the history, so that concurrent commands (a `ship` during a `gather`, two nodes' `state set`) never lose a
 * line. Unlike the run's lock it waits: it is held for milliseconds.
 *
 * A lock left behind by a process that died (same host, pid gone) or not touched for `staleMs` is taken over.
 * The takeover moves the stale file aside under a unique name and deletes it only if it is still the stale one,
 * so two processes clearing the same stale lock do not delete each other's fresh lock.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface ShortLockOptions {
  /** Give up waiting after this long. Default 10 s. */
  timeoutMs?: number;
  /** A lock file whose mtime is older than this is taken over whoever holds it. Default 30 s. */
  staleMs?: number;
}

// Within one process, appends to the same file queue here: the lock file only has to order processes.
const queues = new Map<string, Promise<unknown>>();

/** Runs `work` while holding the lock file `lockPath`; throws when the lock cannot be had within the timeout. */
export function withShortLock<T>(lockPath: string, work: () => Promise<T>, options: ShortLockOptions = {}): Promise<T> {
  const previous = queues.get(lockPath) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => lockedRun(lockPath, work, options));
  const tail = next.catch(() => undefined);
  queues.set(lockPath, tail);
  void tail.then(() => {
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  });
  return next;
}

async function lockedRun<T>(lockPath: string, work: () => Promise<T>, options: ShortLockOptions): Promise<T> {
  const content = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), nonce: randomUUID() })}\n`;
  await acquire(lockPath, content, options);
  try {
    return await work();
  } finally {
    await release(lockPath, content);
  }
}

async function acquire(lockPath: string, content: string, options: ShortLockOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    if (await createExclusive(lockPath, content)) return;
    const raw = await readFile(lockPath, 'utf8').catch(() => null);
    if (raw !== null && (await isStale(lockPath, raw, staleMs))) {
      await clearStale(lockPath, raw);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(`the history lock ${lockPath} stayed taken for ${timeoutMs} ms (held by ${describe(raw)}); if no analytics-collect runs, delete it`);
    }
    // Held for a few milliseconds by another process: wait a little, with jitter so waiters do not march in step.
    await delay(wait / 2 + Math.random() * wait);
  }
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await file.writeFile(content, 'utf8');
  } finally {
    await file.close();
  }
  return true;
}

async function isStale(lockPath: string, raw: string, staleMs: number): Promise<boolean> {
  const holder = parseHolder(raw);
  // Ours by pid but not queued here: left by an earlier process that had our pid (pid 1 in containers).
  if (holder !== null && holder.host === hostname() && (holder.pid === process.pid || !processExists(holder.pid))) return true;
  const info = await stat(lockPath).catch(() => null);
  return info !== null && Date.now() - info.mtimeMs > staleMs;
}

async function clearStale(lockPath: string, staleRaw: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomUUID()}.stale`;
  try {
    await rename(lockPath, aside);
  } catch {
    return; // gone already: someone else cleared it
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  // Between our read and the rename, another process may have cleared the stale lock and taken a fresh one:
  // then we moved *its* lock, and put it back (unless yet another lock appeared meanwhile).
  if (moved !== staleRaw) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

async function release(lockPath: string, content: string): Promise<void> {
  try {
    if ((await readFile(lockPath, 'utf8')) === content) await unlink(lockPath);
  } catch {
    // gone already
  }
}

function parseHolder(raw: string): { pid: number; host: string } | null {
  try {
    const value = JSON.parse(raw) as { pid?: unknown; host?: unknown };
    return Number.isSafeInteger(value.pid) && (value.pid as number) > 0 && typeof value.host === 'string'
      ? { pid: value.pid as number, host: value.host }
      : null;
  } catch {
    return null;
  }
}

function describe(raw: string | null): string {
  const holder = raw === null ? null : parseHolder(raw);
  return holder === null ? 'an unknown process' : `pid ${holder.pid} on ${holder.host}`;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
