/**
 * Interfaces shared between pipeline stages. Each stage owns its folder; these are the seams between them.
 */

/** Persisted progress (contract §4). Dates are real Date objects in memory, ISO strings on disk. */
export interface State {
  version: 1;
  lastGather: Date | null;
  entries: Record<string, Date>;
}

/** Where the state lives: a JSON file (default) or a PostgreSQL table (§8). */
export interface StateStore {
  /** Reads the state; a missing store yields an empty state; a damaged one throws AppError('USAGE') naming it. */
  read(): Promise<State>;
  /** Replaces the state atomically: readers see the old or the new state, never a mix. */
  write(state: State): Promise<void>;
  /** Human name for messages, e.g. the file path or `postgres table analytics_collect_state`. Never a secret. */
  describe(): string;
  /** The cluster's clock (§8): the database's now(). Absent → the local clock. */
  now?(): Promise<Date>;
  /** Proves the state can be written (§8), before anything is gathered; throws AppError('USAGE'). */
  checkWritable?(): Promise<void>;
}

/** A held run lock. */
export interface HeldLock {
  release(): Promise<void>;
  /** Registered by the run; called once if the lock is lost (its connection failed: another node may hold it now). */
  onLost?(listener: (err: Error) => void): void;
  /** Who holds it, for messages (e.g. the PostgreSQL backend). */
  describeHolder?(): string;
}

/** Takes the single-run lock without waiting; throws AppError('LOCKED') naming the holder when it is taken. */
export interface Locker {
  acquire(): Promise<HeldLock>;
}

/** What a shipper knows about the tarball it sends. */
export interface ShipInfo {
  /** Base name of the tarball, e.g. `analytics-2026-11-28-013306+0000-0.tar.gz`. */
  fileName: string;
  /** Compressed size in bytes. */
  bytes: number;
  /** Member names (without `./`) with their uncompressed sizes, in tar order. */
  members: { name: string; size: number }[];
  since: Date | null;
  until: Date;
  shippingGroup: string;
}

/** One attempt's outcome. The pipeline never looks at HTTP codes, only at this. */
export type ShipResult =
  | { status: 'sent'; requestId?: string }
  | { status: 'retryable'; error: string; retryAfterMs?: number }
  | { status: 'failed'; error: string; /** 401/403: upload nothing more this run */ authRejected?: boolean };

/** A transport: HTTP, a packager's custom `ship()`, a directory… */
export interface Shipper {
  send(tarballPath: string, info: ShipInfo, signal?: AbortSignal): Promise<ShipResult>;
}
