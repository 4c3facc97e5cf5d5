/**
 * The history of runs (contract §9): one entry per `gather`, `ship` and `state set|reset`, however it ended.
 * The field names and their order are the contract's; nothing else is written.
 */

export type HistoryCommand = 'gather' | 'ship' | 'state set' | 'state reset';
export type HistoryMode = 'dry-run' | 'ship' | null;

export interface HistoryEntry {
  /** A random UUID, unique per run. */
  id: string;
  command: HistoryCommand;
  /** `gather`: `dry-run` or `ship`; the `ship` command: `ship`; `state set|reset`: null. */
  mode: HistoryMode;
  startedAt: string;
  finishedAt: string;
  /** The start of the run's window (the earliest collection's `since`, else `--since`); null without a window. */
  since: string | null;
  until: string | null;
  /** The status the process exits with (0, 1, 2, 3, 4, 129, 130, 143). */
  exitCode: number;
  collections: { ok: number; failed: number; empty: number };
  tarballs: { written: number; shipped: number; failed: number };
  /** Compressed bytes written (`gather`) or accepted by the ingress (`ship`). */
  bytes: number;
  requestIds: string[];
  /** At most 20 messages, secrets replaced. */
  errors: string[];
  host: string;
  pid: number;
  version: string;
}

/** Where the history lives: a JSON-lines file beside the state, or a PostgreSQL table (§8). */
export interface HistoryStore {
  /** Appends one entry, keeping the newest `keep`; concurrent appends never lose an entry. */
  append(entry: HistoryEntry, keep: number): Promise<void>;
  /** The newest `limit` entries (all without a limit), newest first. */
  list(limit?: number): Promise<HistoryEntry[]>;
  /** Human name for messages: the file path or the table. Never a secret. */
  describe(): string;
}

export const MAX_ERRORS = 20;
