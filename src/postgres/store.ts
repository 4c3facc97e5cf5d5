/**
 * The state (contract §4) in a PostgreSQL table, for several nodes sharing one database (§8).
 *
 * Table design: one row per state, keyed by `id` (the `coordination.lockName`, so each lock guards its own
 * state), holding exactly the JSON state file's document in a `jsonb` column:
 *
 *   id text PRIMARY KEY, state jsonb NOT NULL, updated_at timestamptz NOT NULL, updated_by text NOT NULL
 *
 * One row means a write is a single upsert — readers see the old or the new state, never a mix — and the same
 * validation as the JSON file applies, so a hand-edited or damaged row is reported, not silently reset.
 * `updated_by` (`analytics-collect <host> pid <pid>`) and `updated_at` are for people reading the table.
 */
import type { Client } from 'pg';
import { AppError, messageOf, usageError } from '../errors.js';
import { emptyState, parseState, serializeState } from '../state/file-store.js';
import type { State, StateStore } from '../types.js';
import { applicationName, connect, describeTarget, redact } from './connection.js';
import { toConnectionUrl } from './conninfo.js';
import { parseTableName, type TableName } from './identifier.js';
import { loadPg } from './load.js';

export interface PgStateStoreOptions {
  /** `postgresql://user:password@host:port/database` or libpq `key=value` pairs; never shown in messages. */
  connectionString: string;
  /** `coordination.table`: `table` or `schema.table`; default `analytics_collect_state`. Created if missing. */
  table?: string;
  /** The row holding this state; pass `coordination.lockName`. Default `analytics-collect`. */
  stateId?: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
}

export const DEFAULT_STATE_TABLE = 'analytics_collect_state';
export const DEFAULT_STATE_ID = 'analytics-collect';

const DAMAGED_ADVICE =
  "fix the row's state column (the JSON state file's format), or delete the row to start afresh (the next run then gathers up to 4 weeks back)";

/**
 * A {@link StateStore} in PostgreSQL. Each `read()`/`write()` opens its own short connection, so nothing sits
 * idle for the length of a run. `read()` creates the table when it is missing, so a missing privilege shows at
 * the start of a run rather than after the uploads; `write()` upserts the row in one transaction.
 * Errors: reading → AppError('USAGE') (unreachable server, damaged row, someone else's table: exit 2);
 * writing → AppError('FAILED') (exit 1), like the file store, since the run's work is already done.
 */
export function pgStateStore(options: PgStateStoreOptions): StateStore {
  const table = parseTableName(options.table ?? DEFAULT_STATE_TABLE);
  const stateId = options.stateId ?? DEFAULT_STATE_ID;
  const connectionString = toConnectionUrl(options.connectionString);
  const name = table.schema === null ? table.name : `${table.schema}.${table.name}`;
  const description = `postgres table ${name} (row ${JSON.stringify(stateId)}) on ${describeTarget(connectionString)}`;

  /** Runs `work` on a fresh connection; every failure becomes one AppError naming the table, never the password. */
  async function withClient<T>(action: 'read' | 'write', work: (client: Client) => Promise<T>): Promise<T> {
    try {
      const pg = await loadPg('coordination.postgres');
      const client = await connect(pg, {
        connectionString,
        purpose: 'the state table',
        ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
      });
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (err) {
      throw explain(err, action);
    }
  }

  function explain(err: unknown, action: 'read' | 'write'): AppError {
    if (action === 'write') {
      // Like the file store: a failed write at the end of a run is exit 1 (FAILED) — the run's work is done,
      // only its record is missing.
      const why = err instanceof AppError ? err.message : redact(messageOf(err), connectionString);
      return new AppError(
        'FAILED',
        `cannot write the state to ${description}: ${why}; until it is written, the next run gathers the same windows again`,
      );
    }
    if (err instanceof AppError) return err;
    const code = (err as { code?: unknown }).code;
    const text = `cannot read the state from ${description}: ${redact(messageOf(err), connectionString)}`;
    if (code === '3F000') return usageError(`${text}; create the schema or set coordination.table to a table in an existing schema`);
    // undefined column, wrong type, bad input for a column's type: someone else's table with our name
    if (code === '42703' || code === '42804' || code === '22P02' || code === '42883') {
      return usageError(
        `${text}; that table is not an analytics-collect state table (id text, state jsonb, updated_at, updated_by) — set coordination.table to another name`,
      );
    }
    return usageError(text);
  }

  return {
    describe: () => description,

    read: () =>
      withClient('read', async (client) => {
        await ensureTable(client, table);
        const { rows } = await client.query<{ state: string }>(`SELECT state::text AS state FROM ${table.quoted} WHERE id = $1`, [stateId]);
        const row = rows[0];
        return row === undefined ? emptyState() : parseState(row.state, description, DAMAGED_ADVICE);
      }),

    write: (state: State) =>
      withClient('write', async (client) => {
        await ensureTable(client, table);
        await client.query('BEGIN');
        try {
          await client.query(
            `INSERT INTO ${table.quoted} (id, state, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
             ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
            [stateId, serializeState(state), applicationName()],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
  };
}

/**
 * Creates the table when missing. Checking first keeps a read-only role working on an existing table (CREATE ...
 * IF NOT EXISTS would still need the CREATE privilege); two nodes creating it at once is harmless.
 */
async function ensureTable(client: Client, table: TableName): Promise<void> {
  const exists = async (): Promise<boolean> =>
    (await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table.quoted])).rows[0]?.present === true;
  if (await exists()) return;
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table.quoted} (
         id text PRIMARY KEY,
         state jsonb NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(),
         updated_by text NOT NULL DEFAULT ''
       )`,
    );
  } catch (err) {
    // A concurrent CREATE can still collide on the catalog's unique index; the table then exists.
    const code = (err as { code?: unknown }).code;
    if ((code === '23505' || code === '42P07') && (await exists())) return;
    throw err;
  }
}
