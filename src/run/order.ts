/**
 * The order a run gathers and places collections in (contract §3): json collectors first, then csv ones, each
 * in collector order (files by name, then export names). The config collector is not part of it: it runs first,
 * on its own. One function, used by the run, by `list` and by the progress display, so they cannot disagree.
 */
import type { Collector } from '../collect/register.js';

/**
 * The non-config collectors a run gathers, in placement order, limited to `only`'s keys when given.
 * Accepts bare collectors or anything carrying one (`LoadedCollector`), and returns the same items.
 */
export function orderCollectors<T extends Collector | { collector: Collector }>(
  collectors: readonly T[],
  only?: readonly string[] | null,
): T[] {
  const keys = only ? new Set(only) : null;
  const chosen = collectors.filter((item) => {
    const c = collectorOf(item);
    return !c.config && (keys === null || keys.has(c.key));
  });
  return [...chosen.filter((item) => collectorOf(item).format === 'json'), ...chosen.filter((item) => collectorOf(item).format === 'csv')];
}

function collectorOf(item: Collector | { collector: Collector }): Collector {
  return 'collector' in item ? item.collector : item;
}
