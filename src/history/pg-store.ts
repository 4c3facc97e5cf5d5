/**
 * The history in PostgreSQL (contract §8, §9): with coordination, every node appends to `<table>_history`, so
 * `history` and `status` on any node show the cluster's runs. One row per run:
 *
 *   seq bigserial PRIMARY KEY, lock_name text, started_at timestamptz, entry jsonb
 *
 * `lock_name` is `coordination.lockName`, like the state row's id: two states sharing a table keep two
 * histories. An append inserts and trims to the newest `keep` in one transaction; rows are ordered by `seq`.
 * Every wait is bounded by `coordination.timeoutMs` (connecting, statements, row and table locks).
 */
import { AppError, messageOf } from '../errors.js';
import { connect, describeTarget, redact, type Session } from '../postgres/connection.js';
import { parseConnInfo } from '../postgres/conninfo.js';
import { ensureTable, tableExists } from '../postgres/ensure-table.js';
import { parseTableName } from '../postgres/identifier.js';
import { loadPg } from '../postgres/load.js';
import { isEntry } from './parse.js';
import type { HistoryEntry, HistoryStore } from './types.js';

/** The history table: the runs of every lock name, newest last. */
const HISTORY_COLUMNS = `seq bigserial PRIMARY KEY,
  lock_name text NOT NULL,
  started_at timestamptz NOT NULL,
  entry jsonb NOT NULL`;

export interface PgHistoryStoreOptions {
  connectionString: string;
  /** `coordination.table`; the history table is this name with `_history` appended. */
  table: string;
  lockName: string;
  /** `coordination.timeoutMs`. */
  timeoutMs: number;
  /** Abandons a wait in progress when it fires (SIGINT/SIGTERM of `status` and `history`): rejects with its reason. */
  signal?: AbortSignal;
}

export function pgHistoryStore(options: PgHistoryStoreOptions): HistoryStore {
  const state = parseTableName(options.table);
  const table = parseTableName(`${state.schema === null ? '' : `${state.schema}.`}${state.name}_history`, 'coordination.table (+ "_history")');
  const { connectionString } = options;
  const info = parseConnInfo(connectionString);
  const description = `postgres table ${table.schema === null ? table.name : `${table.schema}.${table.name}`} on ${describeTarget(info)}`;

  /** `work` on a fresh session whose every wait (connecting, statements, locks) is bounded by the timeout. */
  async function withSession<T>(action: string, work: (session: Session) => Promise<T>): Promise<T> {
    let session: Session | null = null;
    try {
      const pg = await loadPg('coordination.postgres');
      session = await connect(pg, { info, purpose: 'the history table', timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
      return await work(session);
    } catch (err) {
      if (err instanceof AppError && err.code === 'INTERRUPTED') throw err;
      const why = err instanceof AppError ? err.message : redact(messageOf(err), connectionString);
      throw new AppError('FAILED', `cannot ${action} the history in ${description}: ${why}`);
    } finally {
      await session?.end();
    }
  }

  return {
    describe: () => description,

    append: (entry, keep) =>
      withSession('write', async (session) => {
        await ensureTable(session, table, HISTORY_COLUMNS, 'history table');
        await session.query('BEGIN', [], 'writing the history');
        try {
          await session.query(
            `INSERT INTO ${table.quoted} (lock_name, started_at, entry) VALUES ($1, $2, $3::jsonb)`,
            [options.lockName, entry.startedAt, JSON.stringify(entry)],
            'writing the history',
          );
          await session.query(
            `DELETE FROM ${table.quoted} WHERE lock_name = $1 AND seq <= (
               SELECT seq FROM ${table.quoted} WHERE lock_name = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
            [options.lockName, Math.max(1, keep)],
            'trimming the history',
          );
          await session.query('COMMIT', [], 'writing the history');
        } catch (err) {
          await session.query('ROLLBACK', [], 'rolling back').catch(() => undefined);
          throw err;
        }
      }),

    list: (limit) =>
      withSession('read', async (session) => {
        if (!(await tableExists(session, table, 'history table'))) return [];
        const rows = await session.query<{ entry: string }>(
          `SELECT entry::text AS entry FROM ${table.quoted} WHERE lock_name = $1 ORDER BY seq DESC${limit === undefined ? '' : ' LIMIT $2'}`,
          limit === undefined ? [options.lockName] : [options.lockName, limit],
          'reading the history',
        );
        return rows.flatMap((row): HistoryEntry[] => {
          const value: unknown = JSON.parse(row.entry);
          return isEntry(value) ? [value] : [];
        });
      }),
  };
}
