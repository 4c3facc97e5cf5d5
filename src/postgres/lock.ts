/**
 * The cluster-wide run lock (contract §8): a PostgreSQL session advisory lock held on a dedicated connection for
 * the whole run. PostgreSQL releases it when that session ends, so a node that dies (even by SIGKILL) frees it as
 * soon as the server notices the connection is gone. Every wait is bounded by `coordination.timeoutMs`; a lock
 * connection that fails, is terminated or stops answering mid-run is reported once through `onLost`.
 */
import { createHash } from 'node:crypto';
import { AppError, messageOf } from '../errors.js';
import type { HeldLock, Locker } from '../types.js';
import { connect, DatabaseTimeoutError, describeTarget, redact, type Session } from './connection.js';
import { parseConnInfo } from './conninfo.js';
import { showName } from './identifier.js';
import { loadPg } from './load.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
/** How often the held lock's connection is checked (a `SELECT 1`), so a silent network loss is noticed. */
const HEARTBEAT_MS = 15_000;

export interface PgLockerOptions {
  /** `postgresql://user:password@host:port/database` or libpq `key=value` pairs; never shown in messages. */
  connectionString: string;
  /** `coordination.lockName`: nodes with the same name (and database) exclude each other. */
  lockName: string;
  /** `coordination.timeoutMs`: bound of every wait (connecting, taking, checking and releasing). Default 30 s. */
  timeoutMs?: number;
  /** The run's signal: a wait in progress when it fires is abandoned. */
  signal?: AbortSignal;
  /** Also called once when the lock is lost (see {@link HeldLock.onLost}). */
  onLost?: (error: Error) => void;
  /** Interval of the liveness check of a held lock; default 15 s (at most `timeoutMs`). */
  heartbeatMs?: number;
}

/**
 * The advisory-lock key of a lock name: the first 8 bytes of SHA-256 of its UTF-8 bytes, read as a big-endian
 * signed 64-bit integer. The same in SQL, to find the lock in `pg_locks` by hand:
 * `('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint`.
 */
export function advisoryLockKey(lockName: string): bigint {
  return createHash('sha256').update(lockName, 'utf8').digest().readBigInt64BE(0);
}

/**
 * A {@link Locker} backed by `pg_try_advisory_lock`. `acquire()` never waits for another holder: when another
 * session holds the lock it throws AppError('LOCKED') naming the holder (PostgreSQL pid, application name — host
 * and pid of the other analytics-collect — and client address, as far as the server shows them). A database that
 * cannot be reached or does not answer in time is AppError('USAGE').
 */
export function pgLocker(options: PgLockerOptions): Locker {
  if (options.lockName === '') throw new AppError('USAGE', 'coordination.lockName must not be empty');
  const key = advisoryLockKey(options.lockName).toString();
  const { connectionString } = options;
  const info = parseConnInfo(connectionString);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = `${showName(options.lockName)} on ${describeTarget(info)}`;
  return {
    async acquire(): Promise<HeldLock> {
      const pg = await loadPg('coordination.postgres');
      const lost = new LostSignal();
      if (options.onLost) lost.add(options.onLost);
      let held = false;
      const session = await connect(pg, {
        info,
        purpose: 'the coordination lock',
        timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        onClosed: (err) => {
          if (held) lost.fire(new Error(`lost the coordination lock ${where}: ${redact(messageOf(err), connectionString)}; another node may hold it now`));
        },
      }).catch((err: unknown) => {
        throw asUsage(err, where, connectionString);
      });
      try {
        await keepSessionAlive(session);
        const rows = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key], 'taking the coordination lock');
        if (rows[0]?.locked !== true) {
          const holder = await describeHolder(session, key).catch(() => '');
          throw new AppError('LOCKED', `another node holds the coordination lock ${where}${holder}; this run stops without gathering — try again when that run has ended`);
        }
        held = true;
      } catch (err) {
        await session.end();
        throw asUsage(err, where, connectionString);
      }
      const heartbeat = startHeartbeat(session, Math.min(options.heartbeatMs ?? HEARTBEAT_MS, timeoutMs), () => held);
      const backendPid = (session.client as unknown as { processID?: number }).processID;
      let released: Promise<void> | undefined;
      return {
        // Never throws: it runs in `finally` blocks, and a lock whose connection died is already free.
        release(): Promise<void> {
          released ??= (async () => {
            clearInterval(heartbeat);
            const wasHeld = held;
            held = false;
            if (wasHeld && !session.closed) {
              // A wait abandoned here (timeout, signal) drops the socket: the server frees the lock with it.
              await session.query('SELECT pg_advisory_unlock($1::bigint)', [key], 'releasing the coordination lock').catch(() => undefined);
            }
            await session.end();
          })();
          return released;
        },
        onLost: (listener) => lost.add(listener),
        describeHolder: () => `coordination lock ${where}, PostgreSQL pid ${backendPid ?? '?'}`,
      };
    },
  };
}

/** Listeners for a lost lock: each called once; one added after the loss is called at once (asynchronously). */
class LostSignal {
  #listeners: ((error: Error) => void)[] = [];
  #error: Error | undefined;

  add(listener: (error: Error) => void): void {
    if (this.#error !== undefined) {
      const error = this.#error;
      queueMicrotask(() => listener(error));
    } else this.#listeners.push(listener);
  }

  fire(error: Error): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    for (const listener of this.#listeners.splice(0)) listener(error);
  }
}

/** Checks the held lock's connection now and then; a check that fails or stalls drops it (and fires onLost). */
function startHeartbeat(session: Session, everyMs: number, holding: () => boolean): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running || !holding() || session.closed) return;
    running = true;
    session
      .query('SELECT 1', [], 'checking the coordination lock connection')
      .catch((err: unknown) => {
        // The timer fired or the connection failed: drop it, so that 'end' reports the loss.
        if (!session.closed) session.destroy();
        return err;
      })
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return timer;
}

function asUsage(err: unknown, where: string, connectionString: string): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof DatabaseTimeoutError) return new AppError('USAGE', `cannot take the coordination lock ${where}: ${err.message}`, { cause: err });
  return new AppError('USAGE', `cannot take the coordination lock ${where}: ${redact(messageOf(err), connectionString)}`, { cause: err });
}

/**
 * The server only notices a vanished peer (power loss, network cut — no FIN) through TCP keepalives; its defaults
 * wait about two hours. Shorter per-session values free a dead node's lock within about a minute. An idle-session
 * timeout would end our deliberately idle connection and with it the lock. Best effort: a setting the server does
 * not know (older versions) is skipped; a timeout is not.
 */
async function keepSessionAlive(session: Session): Promise<void> {
  for (const sql of [
    'SET tcp_keepalives_idle = 30',
    'SET tcp_keepalives_interval = 10',
    'SET tcp_keepalives_count = 3',
    'SET idle_session_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
  ]) {
    await session.query(sql, [], 'preparing the coordination lock connection').catch((err: unknown) => {
      if (err instanceof DatabaseTimeoutError || err instanceof AppError || session.closed) throw err;
    });
  }
}

/** The session holding an advisory lock, as the server shows it. */
export interface LockHolder {
  pid: number;
  applicationName: string | null;
  clientAddr: string | null;
  /** When the holder's session connected. */
  since: Date | null;
}

/**
 * Who holds the advisory lock `key` (a 64-bit key, as `advisoryLockKey` gives) in the session's database, from
 * `pg_locks` and `pg_stat_activity`, without taking it; null when nobody does.
 */
export async function lockHolder(session: Session, key: bigint, purpose: string): Promise<LockHolder | null> {
  const unsigned = BigInt.asUintN(64, key);
  // pg_locks shows a 64-bit advisory key as classid (high 32 bits) + objid (low 32 bits), with objsubid 1.
  const rows = await session.query<{ pid: number; application_name: string | null; client_addr: string | null; since: Date | null }>(
    `SELECT l.pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start AS since
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::oid AND l.objid = $2::oid
      LIMIT 1`,
    [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()],
    purpose,
  );
  const row = rows[0];
  return row === undefined ? null : { pid: row.pid, applicationName: row.application_name, clientAddr: row.client_addr, since: row.since };
}

/** `: PostgreSQL pid 123, "analytics-collect host pid 45", from 10.0.0.7`, or '' when the server shows nothing. */
async function describeHolder(session: Session, key: string): Promise<string> {
  const holder = await lockHolder(session, BigInt(key), 'naming the lock holder');
  if (holder === null) return '';
  const parts = [`PostgreSQL pid ${holder.pid}`];
  if (holder.applicationName) parts.push(showName(holder.applicationName, 80));
  if (holder.clientAddr) parts.push(`from ${holder.clientAddr}`);
  return `: ${parts.join(', ')}`;
}
