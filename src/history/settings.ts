/**
 * Where the history lives (contract §6, §8): `historyFile`, or `<coordination.table>_history` with coordination.
 */
import type { ResolvedConfig } from '../config/types.js';

export interface HistorySettings {
  historyFile: string;
  historyKeep: number;
  /** With coordination the history is in `<table>_history` (§8). */
  postgres: { connectionString: string; table: string; lockName: string; timeoutMs: number } | null;
}

export function historySettings(config: ResolvedConfig): HistorySettings {
  const { postgres, table, lockName, timeoutMs } = config.coordination;
  return {
    historyFile: config.historyFile,
    historyKeep: config.historyKeep,
    postgres: postgres === undefined || postgres === '' ? null : { connectionString: postgres, table, lockName, timeoutMs },
  };
}
