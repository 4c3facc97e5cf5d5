/**
 * Who holds the run's lock, read without taking it (contract §9: `status` never takes the lock, so it can run
 * while a gather does). The file lock: `<stateFile>.lock` as written by src/state/lock.ts (`{ pid, host, since }`,
 * its mtime refreshed by the holder's heartbeat). The PostgreSQL lock: the session holding the advisory lock, from
 * `pg_locks` and `pg_stat_activity`.
 */
import { lstat, readFile } from 'node:fs/promises';
import type { ResolvedConfig } from '../config/types.js';
import { messageOf } from '../errors.js';
import { escapeControlLine } from '../secrets/index.js';

export interface LockStatus {
  held: boolean;
  /** One line naming the holder, or why it cannot be told; null when free. */
  holder: string | null;
}

const FREE: LockStatus = { held: false, holder: null };

/** `signal` ends a wait on PostgreSQL in progress when it fires: rejects with its reason. */
export async function lockStatus(config: ResolvedConfig, now: Date = new Date(), signal?: AbortSignal): Promise<LockStatus> {
  const { postgres } = config.coordination;
  if (postgres !== undefined && postgres !== '') return pgLockStatus(config, signal);
  return fileLockStatus(`${config.stateFile}.lock`, now);
}

export async function fileLockStatus(path: string, now: Date): Promise<LockStatus> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return FREE;
    return { held: true, holder: `the lock ${path} cannot be examined (${messageOf(err)})` };
  }
  if (!info.isFile()) return { held: true, holder: `the lock ${path} is not a regular file; a gather would refuse it` };
  let holder: { pid?: unknown; host?: unknown; since?: unknown } = {};
  try {
    holder = JSON.parse(await readFile(path, 'utf8')) as typeof holder;
  } catch {
    // being written this instant, unreadable (another user's, mode 0600) or damaged: say what can be said
  }
  const refreshed = Math.max(0, Math.round((now.getTime() - info.mtimeMs) / 1000));
  const who =
    typeof holder.pid === 'number' && typeof holder.host === 'string'
      ? `pid ${holder.pid} on ${escapeControlLine(holder.host)}${typeof holder.since === 'string' ? ` since ${escapeControlLine(holder.since)}` : ''}`
      : 'an unknown holder';
  return { held: true, holder: `${who} (lock file ${path}, touched ${refreshed} s ago)` };
}

async function pgLockStatus(config: ResolvedConfig, signal: AbortSignal | undefined): Promise<LockStatus> {
  const [{ loadPg }, { connect, describeTarget }, { parseConnInfo }, { advisoryLockKey, lockHolder }] = await Promise.all([
    import('../postgres/load.js'),
    import('../postgres/connection.js'),
    import('../postgres/conninfo.js'),
    import('../postgres/lock.js'),
  ]);
  const { lockName, timeoutMs } = config.coordination;
  const info = parseConnInfo(config.coordination.postgres!);
  const session = await connect(await loadPg('coordination.postgres'), {
    info,
    purpose: 'looking at the coordination lock',
    timeoutMs,
    ...(signal ? { signal } : {}),
  });
  try {
    const holder = await lockHolder(session, advisoryLockKey(lockName), 'looking at the coordination lock');
    if (holder === null) return FREE;
    const parts = [`PostgreSQL pid ${holder.pid}`];
    if (holder.applicationName) parts.push(JSON.stringify(escapeControlLine(holder.applicationName)));
    if (holder.clientAddr) parts.push(`from ${holder.clientAddr}`);
    if (holder.since) parts.push(`connected since ${holder.since.toISOString()}`);
    return { held: true, holder: `${parts.join(', ')} (advisory lock ${JSON.stringify(lockName)} on ${describeTarget(info)})` };
  } finally {
    await session.end();
  }
}
