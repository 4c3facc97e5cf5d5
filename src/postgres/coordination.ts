/**
 * The pipeline's entry to §8: with `coordination.postgres` set, the run lock and the state live in PostgreSQL
 * instead of the lock file and the JSON state file. Internal (not part of the `analytics-collect/postgres` API).
 */
import type { CoordinationConfig } from '../config/types.js';
import type { Locker, StateStore } from '../types.js';
import { pgLocker } from './lock.js';
import { pgStateStore } from './store.js';

export interface PgCoordinationOptions {
  /** Legacy: also called when the lock is lost (the run registers with `HeldLock.onLost`). */
  onLockLost?: (error: Error) => void;
  /** The run's signal: a database wait in progress when it fires is abandoned. */
  signal?: AbortSignal;
  /** For the migration notice and the clock warning. */
  logger?: { info(msg: string): void; warn(msg: string): void };
  /** The JSON state file's store: its positions are the start when the table has no row yet (§8). */
  migrateFrom?: StateStore;
}

/**
 * The locker and state store for a configuration, or null when `coordination.postgres` is not set. Both share
 * `lockName`: the state row is keyed by it, so each lock guards its own state. Nothing connects until used.
 */
export function pgCoordination(
  coordination: CoordinationConfig,
  options: PgCoordinationOptions = {},
): { locker: Locker; store: StateStore } | null {
  const connectionString = coordination.postgres;
  if (connectionString === undefined || connectionString === '') return null;
  const { timeoutMs } = coordination;
  const signal = options.signal ? { signal: options.signal } : {};
  return {
    locker: pgLocker({
      connectionString,
      lockName: coordination.lockName,
      timeoutMs,
      ...signal,
      ...(options.onLockLost === undefined ? {} : { onLost: options.onLockLost }),
    }),
    store: pgStateStore({
      connectionString,
      table: coordination.table,
      stateId: coordination.lockName,
      timeoutMs,
      ...signal,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.migrateFrom ? { migrateFrom: options.migrateFrom } : {}),
    }),
  };
}
