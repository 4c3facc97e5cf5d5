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
 * The database's clock is the cluster's clock: `now()` reads it, and a write never moves a position past it.
 */
import { AppError, messageOf, usageError } from '../errors.js';
import { emptyState, parseState, serializeState } from '../state/file-store.js';
import type { State, StateStore } from '../types.js';
import { applicationName, connect, DatabaseTimeoutError, describeTarget, redact, type Session } from './connection.js';
import { parseConnInfo } from './conninfo.js';
import { parseTableName, showName, type TableName } from './identifier.js';
import { loadPg } from './load.js';
import { DEFAULT_TIMEOUT_MS } from './lock.js';
import { ensureTable } from './ensure-table.js';
import { explainWriteProblem, isWriteProblem } from './write-check.js';

export interface PgStateStoreOptions {
  /** `postgresql://user:password@host:port/database` or libpq `key=value` pairs; never shown in messages. */
  connectionString: string;
  /** `coordination.table`: `table` or `schema.table`; default `analytics_collect_state`. Created if missing. */
  table?: string;
  /** The row holding this state; pass `coordination.lockName`. Default `analytics-collect`. */
  stateId?: string;
  /** `coordination.timeoutMs`: bound of every wait. Default 30 s. */
  timeoutMs?: number;
  /** The run's signal: a wait in progress when it fires is abandoned. */
  signal?: AbortSignal;
  /**
   * Switching coordination on (§8): when the table has no row for `stateId` and this store (the JSON state file)
   * holds positions, `read()` returns those, and says so through `logger`.
   */
  migrateFrom?: StateStore;
  /** Told about a migration (info) and a clock that differs from the database's (warn). */
  logger?: Pick<Console, 'info' | 'warn'> | { info(msg: string): void; warn(msg: string): void };
}

export const DEFAULT_STATE_TABLE = 'analytics_collect_state';
export const DEFAULT_STATE_ID = 'analytics-collect';
/** A node whose clock differs from the database's by more than this says so (§8). */
export const CLOCK_SKEW_WARN_MS = 5 * 60_000;

/** The state table: a row per state id (a lock name), written by whichever node holds the lock. */
const STATE_COLUMNS = `id text PRIMARY KEY,
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL DEFAULT ''`;

const DAMAGED_ADVICE =
  "fix the row's state column (the JSON state file's format), or delete the row to start afresh (the next run then gathers up to 4 weeks back)";

const UPSERT = (table: TableName): string =>
  `INSERT INTO ${table.quoted} (id, state, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
   ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`;

/**
 * A {@link StateStore} in PostgreSQL. Each call opens its own short connection, so nothing sits idle for the
 * length of a run. `read()` creates the table when it is missing; `checkWritable()` proves, before anything is
 * gathered, that `write()` will work (an upsert in a transaction that is rolled back).
 * Errors: reading, checking and the clock → AppError('USAGE') (exit 2: nothing was gathered yet); writing →
 * AppError('FAILED') (exit 1), like the file store, since the run's work is already done. A fired signal
 * rejects with its reason (AppError('INTERRUPTED')).
 */
export function pgStateStore(options: PgStateStoreOptions): StateStore {
  const table = parseTableName(options.table ?? DEFAULT_STATE_TABLE);
  const stateId = options.stateId ?? DEFAULT_STATE_ID;
  const { connectionString } = options;
  const info = parseConnInfo(connectionString);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const name = table.schema === null ? table.name : `${table.schema}.${table.name}`;
  const description = `postgres table ${name} (row ${showName(stateId)}) on ${describeTarget(info)}`;
  let migrationTold = false;
  let skewTold = false;

  /** Runs `work` on a fresh connection; every failure becomes one error naming the table, never the password. */
  async function withSession<T>(action: Action, work: (session: Session) => Promise<T>): Promise<T> {
    try {
      const pg = await loadPg('coordination.postgres');
      const session = await connect(pg, {
        info,
        purpose: 'the state table',
        timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      try {
        return await work(session);
      } finally {
        await session.end();
      }
    } catch (err) {
      throw explain(err, action);
    }
  }

  function explain(err: unknown, action: Action): unknown {
    if (err instanceof AppError && (err.code === 'INTERRUPTED' || err.code === 'USAGE' && action !== 'write')) return err;
    const why = err instanceof AppError || err instanceof DatabaseTimeoutError ? err.message : redact(messageOf(err), connectionString);
    if (action === 'write') {
      // A failed write at the end of a run is exit 1 (FAILED): the run's work is done, only its record is missing.
      return new AppError('FAILED', `cannot write the state to ${description}: ${why}; until it is written, the next run gathers the same windows again`, { cause: err });
    }
    const verb = action === 'check' ? 'the state could not be written to' : action === 'now' ? "cannot read the database's clock from" : 'cannot read the state from';
    const text = `${verb} ${description}: ${why}`;
    if (isWriteProblem(err)) return usageError(`${text}; ${explainWriteProblem(err, { stateId, user: info.user })}`, err);
    return usageError(text, err);
  }

  return {
    describe: () => description,

    read: () =>
      withSession('read', async (session) => {
        await ensureTable(session, table, STATE_COLUMNS, 'state table');
        const rows = await session.query<{ state: string }>(`SELECT state::text AS state FROM ${table.quoted} WHERE id = $1`, [stateId], 'reading the state');
        const row = rows[0];
        if (row !== undefined) return parseState(row.state, description, DAMAGED_ADVICE);
        return migrate();
      }),

    write: (state: State) =>
      withSession('write', async (session) => {
        await ensureTable(session, table, STATE_COLUMNS, 'state table');
        await session.query('BEGIN', [], 'writing the state');
        try {
          const clock = await databaseNow(session, 'writing the state');
          const { kept, clamped } = clampToClock(state, clock);
          if (clamped.length > 0) {
            options.logger?.warn(
              `positions past the database's clock (${clock.toISOString()}) were written as that time instead: ${clamped.join(', ')} — this node's clock is probably ahead; the next run gathers from there`,
            );
          }
          await session.query(UPSERT(table), [stateId, serializeState(kept), applicationName()], 'writing the state');
          await session.query('COMMIT', [], 'writing the state');
        } catch (err) {
          if (!session.closed) await session.query('ROLLBACK', [], 'writing the state').catch(() => undefined);
          throw err;
        }
      }),

    now: () =>
      withSession('now', async (session) => {
        const before = Date.now();
        const clock = await databaseNow(session, "reading the database's clock");
        const local = (before + Date.now()) / 2;
        const skew = local - clock.getTime();
        if (Math.abs(skew) > CLOCK_SKEW_WARN_MS && !skewTold) {
          skewTold = true;
          options.logger?.warn(
            `this node's clock is ${formatSkew(skew)} ${skew > 0 ? 'ahead of' : 'behind'} the database's (${clock.toISOString()}); the run uses the database's time — fix the node's clock (NTP)`,
          );
        }
        return clock;
      }),

    checkWritable: () =>
      withSession('check', async (session) => {
        await ensureTable(session, table, STATE_COLUMNS, 'state table');
        await session.query('BEGIN', [], 'checking that the state can be written');
        try {
          const rows = await session.query<{ state: string }>(`SELECT state::text AS state FROM ${table.quoted} WHERE id = $1`, [stateId], 'checking that the state can be written');
          const current = rows[0]?.state ?? serializeState(emptyState());
          await session.query(UPSERT(table), [stateId, current, applicationName()], 'checking that the state can be written');
        } finally {
          if (!session.closed) await session.query('ROLLBACK', [], 'checking that the state can be written').catch(() => undefined);
        }
      }),
  };

  /** No row yet: the JSON state file's positions, when it holds any (switching coordination on, §8). */
  async function migrate(): Promise<State> {
    const from = options.migrateFrom;
    if (from === undefined) return emptyState();
    const state = await from.read();
    const keys = Object.keys(state.entries);
    if (keys.length === 0 && state.lastGather === null) return emptyState();
    if (!migrationTold) {
      migrationTold = true;
      options.logger?.info(
        `${description} has no state yet: starting from the JSON state file ${from.describe()} (${keys.length} position${keys.length === 1 ? '' : 's'}, last gather ${state.lastGather?.toISOString() ?? 'none'}); the first ship run writes them to the table, and the file is not used from then on`,
      );
    }
    return state;
  }
}

type Action = 'read' | 'write' | 'check' | 'now';

async function databaseNow(session: Session, doing: string): Promise<Date> {
  const rows = await session.query<{ now: Date }>('SELECT clock_timestamp() AS now', [], doing);
  const now = rows[0]?.now;
  if (!(now instanceof Date)) throw new Error("the database's clock could not be read");
  return now;
}

/** The state with every position later than the database's clock set to it (the cluster has one clock, §8). */
export function clampToClock(state: State, clock: Date): { kept: State; clamped: string[] } {
  const clamped: string[] = [];
  const entries: Record<string, Date> = Object.create(null) as Record<string, Date>;
  for (const [key, value] of Object.entries(state.entries)) {
    if (value.getTime() > clock.getTime()) clamped.push(key);
    entries[key] = value.getTime() > clock.getTime() ? clock : value;
  }
  let lastGather = state.lastGather;
  if (lastGather !== null && lastGather.getTime() > clock.getTime()) {
    clamped.push('lastGather');
    lastGather = clock;
  }
  return { kept: { ...state, lastGather, entries }, clamped };
}

function formatSkew(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  return minutes >= 120 ? `about ${Math.round(minutes / 60)} hours` : `about ${minutes} minutes`;
}
