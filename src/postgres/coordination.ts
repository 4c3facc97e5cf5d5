/**
 * The pipeline's entry to §8: with `coordination.postgres` set, the run lock and the state live in PostgreSQL
 * instead of the lock file and the JSON state file. Internal (not part of the `analytics-collect/postgres` API).
 */
import type { CoordinationConfig } from '../config/types.js';
import type { Locker, StateStore } from '../types.js';
import { pgLocker } from './lock.js';
import { pgStateStore } from './store.js';

export { advisoryLockKey, pgLocker, type PgLockerOptions } from './lock.js';
export { pgStateStore, type PgStateStoreOptions } from './store.js';

/**
 * The locker and state store for a configuration, or null when `coordination.postgres` is not set. Both share
 * `lockName`: the state row is keyed by it, so each lock guards its own state. Nothing connects until used.
 */
export function pgCoordination(
  coordination: CoordinationConfig,
  options: { onLockLost?: (error: Error) => void } = {},
): { locker: Locker; store: StateStore } | null {
  const connectionString = coordination.postgres;
  if (connectionString === undefined || connectionString === '') return null;
  return {
    locker: pgLocker({
      connectionString,
      lockName: coordination.lockName,
      ...(options.onLockLost === undefined ? {} : { onLost: options.onLockLost }),
    }),
    store: pgStateStore({ connectionString, table: coordination.table, stateId: coordination.lockName }),
  };
}
