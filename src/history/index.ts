/**
 * The history of runs (contract §9): where it lives, appending one entry, reading it back.
 */
import type { ResolvedConfig } from '../config/types.js';
import { fileHistoryStore } from './file-store.js';
import { pgHistoryStore } from './pg-store.js';
import { historySettings } from './settings.js';
import type { HistoryEntry, HistoryStore } from './types.js';

export { historyEntry, type CollectionFacts, type ReportFacts, type RunFacts, type TarballFacts } from './entry.js';
export { historySettings, type HistorySettings } from './settings.js';
export type { HistoryCommand, HistoryEntry, HistoryMode, HistoryStore } from './types.js';

/**
 * The history store of a configuration: `<coordination.table>_history` with coordination, else `historyFile`.
 * `signal` ends a wait on PostgreSQL in progress when it fires (the commands that only read the history).
 */
export function historyStore(config: ResolvedConfig, options: { signal?: AbortSignal } = {}): HistoryStore {
  const settings = historySettings(config);
  return settings.postgres !== null ? pgHistoryStore({ ...settings.postgres, ...options }) : fileHistoryStore(settings.historyFile);
}

/** Appends `entry` to the configuration's history, keeping the newest `historyKeep`. */
export async function recordRun(entry: HistoryEntry, config: ResolvedConfig, store: HistoryStore = historyStore(config)): Promise<void> {
  await store.append(entry, historySettings(config).historyKeep);
}
