/**
 * One row per collector, as `list` and `check` show them (table and `--json`), and the order `list` shows them in:
 * the run's (contract §3) — the config collector first, as it runs, then `orderCollectors`.
 */
import type { LoadedCollector } from '../collect/load.js';
import { orderCollectors } from '../run/order.js';

export interface CollectorRow {
  key: string;
  version: string;
  format: 'json' | 'csv';
  config: boolean;
  slicing: boolean;
  fullSyncIntervalDays: number | null;
  shippingGroup: string;
  description: string;
  /** The module's path. */
  file: string;
  export: string;
}

export function collectorRows(loaded: readonly LoadedCollector[]): CollectorRow[] {
  return loaded.map(({ collector: c, file, exportName }) => ({
    key: c.key,
    version: c.version,
    format: c.format,
    config: c.config,
    slicing: c.slicing !== undefined,
    fullSyncIntervalDays: c.fullSyncIntervalDays ?? null,
    shippingGroup: c.shippingGroup,
    description: c.description,
    file,
    export: exportName,
  }));
}

/** The collectors in the order a gather runs them: the config collector, then the run's order (`orderCollectors`). */
export function inRunOrder(loaded: readonly LoadedCollector[]): LoadedCollector[] {
  return [...loaded.filter((l) => l.collector.config), ...orderCollectors(loaded)];
}
