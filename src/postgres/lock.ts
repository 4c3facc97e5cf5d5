/**
 * The cluster-wide run lock (contract §8): a PostgreSQL session advisory lock held on a dedicated connection for
 * the whole run. PostgreSQL releases it when that session ends, so a node that dies (even by SIGKILL) frees it as
 * soon as the server notices the connection is gone.
 */
import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { AppError, messageOf } from '../errors.js';
import type { HeldLock, Locker } from '../types.js';
import { connect, describeTarget, redact } from './connection.js';
import { toConnectionUrl } from './conninfo.js';
import { loadPg } from './load.js';

export interface PgLockerOptions {
  /** `postgresql://user:password@host:port/database` or libpq `key=value` pairs; never shown in messages. */
  connectionString: string;
  /** `coordination.lockName`: nodes with the same name (and database) exclude each other. */
  lockName: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Called once if the lock connection fails while the lock is held: the lock is gone with it, and another node
   * may start. The run can log this or stop.
   */
  onLost?: (error: Error) => void;
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
 * A {@link Locker} backed by `pg_try_advisory_lock`. `acquire()` never waits: when another session holds the
 * lock it throws AppError('LOCKED') naming the holder (PostgreSQL pid, application name — host and pid of the
 * other analytics-collect — and client address, as far as the server shows them).
 */
export function pgLocker(options: PgLockerOptions): Locker {
  if (options.lockName === '') throw new AppError('USAGE', 'coordination.lockName must not be empty');
  const key = advisoryLockKey(options.lockName);
  const connectionString = toConnectionUrl(options.connectionString);
  const where = `"${options.lockName}" on ${describeTarget(connectionString)}`;
  return {
    async acquire(): Promise<HeldLock> {
      const pg = await loadPg('coordination.postgres');
      let held = false;
      let lost = false;
      const client = await connect(pg, {
        connectionString,
        purpose: 'the coordination lock',
        ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
        onError: (err) => {
          if (!held || lost) return;
          lost = true;
          options.onLost?.(new Error(`lost the coordination lock ${where}: ${redact(messageOf(err), connectionString)}`));
        },
      });
      try {
        await keepSessionAlive(client);
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
          key.toString(),
        ]);
        if (rows[0]?.locked !== true) {
          const holder = await describeHolder(client, key).catch(() => '');
          throw new AppError(
            'LOCKED',
            `another node holds the coordination lock ${where}${holder}; this run stops without gathering — try again when that run has ended`,
          );
        }
        held = true;
      } catch (err) {
        await client.end().catch(() => undefined);
        if (err instanceof AppError) throw err;
        throw new AppError('USAGE', `cannot take the coordination lock ${where}: ${redact(messageOf(err), connectionString)}`);
      }
      let released: Promise<void> | undefined;
      return {
        // Never throws: it runs in `finally` blocks, and a lock whose connection died is already free.
        release(): Promise<void> {
          released ??= (async () => {
            if (!lost) await client.query('SELECT pg_advisory_unlock($1::bigint)', [key.toString()]).catch(() => undefined);
            held = false;
            await client.end().catch(() => undefined);
          })();
          return released;
        },
      };
    },
  };
}

/**
 * The server only notices a vanished peer (power loss, network cut — no FIN) through TCP keepalives; its defaults
 * wait about two hours. Shorter per-session values free a dead node's lock within about a minute. An idle-session
 * timeout would end our deliberately idle connection and with it the lock. Best effort: a setting the server does
 * not know (older versions) is skipped.
 */
async function keepSessionAlive(client: Client): Promise<void> {
  for (const sql of [
    'SET tcp_keepalives_idle = 30',
    'SET tcp_keepalives_interval = 10',
    'SET tcp_keepalives_count = 3',
    'SET idle_session_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
  ]) {
    await client.query(sql).catch(() => undefined);
  }
}

/** `: PostgreSQL pid 123, "analytics-collect host pid 45", from 10.0.0.7`, or '' when the server shows nothing. */
async function describeHolder(client: Client, key: bigint): Promise<string> {
  const unsigned = BigInt.asUintN(64, key);
  // pg_locks shows a 64-bit advisory key as classid (high 32 bits) + objid (low 32 bits), with objsubid 1.
  const { rows } = await client.query<{ pid: number; application_name: string | null; client_addr: string | null }>(
    `SELECT l.pid, a.application_name, host(a.client_addr) AS client_addr
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::oid AND l.objid = $2::oid
      LIMIT 1`,
    [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()],
  );
  const row = rows[0];
  if (row === undefined) return '';
  const parts = [`PostgreSQL pid ${row.pid}`];
  if (row.application_name) parts.push(JSON.stringify(row.application_name));
  if (row.client_addr) parts.push(`from ${row.client_addr}`);
  return `: ${parts.join(', ')}`;
}
