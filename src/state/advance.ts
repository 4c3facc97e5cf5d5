/**
 * The advance rule (contract §4): how a ship run's outcome moves the state forward, as a pure function.
 *
 * The guarantee it keeps: a key's entry never moves past a window that some collector of that key has not had
 * accepted, so neither a failure nor a sibling collector that got further lets a later run skip data. It is
 * called at the end of a ship run and as the run goes (with `completed: false`), never in a dry run.
 */
import type { State } from '../types.js';

/** One collection (a whole window, or one slice) of a collector, as far as the run got with it. */
export interface CollectionProgress {
  /** The window (or slice) it was asked to collect. */
  since: Date;
  until: Date;
  /**
   * True when it was gathered and every tarball holding its files was accepted by the ingress (an empty
   * collection counts as accepted). False when gathering or an upload failed, or its tarballs are not (yet)
   * accepted.
   */
  accepted: boolean;
}

/** What one (non-config) collector did in the run. */
export interface CollectorProgress {
  key: string;
  /** Its collections in slice order (a slicer that failed: one failed collection from its window's start). */
  collections: readonly CollectionProgress[];
  /** True when it ran to its end: every collection it had to gather is in `collections`. */
  finished: boolean;
  /** The start of its window, where a collector that never ran would start; null when its window is empty. */
  start: Date | null;
  /** Set when its slicer was asked for a full sync this run. */
  fullSync: { complete: boolean; finishedAt: Date } | null;
}

/** What happened in a ship run, as far as the state is concerned. */
export interface RunProgress {
  /** Every collector the run chose (not the config collector), whether it ran or not. */
  collectors: readonly CollectorProgress[];
  /** The run's `until`. */
  runUntil: Date;
  /** True when the run reached its end (not stopped by a signal, lock loss or an error first). */
  completed: boolean;
  /** True when the run was limited with `--only`. */
  only: boolean;
}

/**
 * Returns the state after (or during) a ship run. The input is not mutated.
 *
 * Per collector, in slice order: each accepted collection moves its position to `max(old entry, until)`; the
 * first collection that is not accepted (or that never ran) freezes it. A key's new entry is the smallest
 * position among its collectors: one that made no progress holds the old entry (or, when the key has none, the
 * `since` of its first failed or unrun collection — the start of its window if it never ran); one that ran to
 * its end without a single collection holds nothing back. `<key>_full` becomes the latest finish time of the
 * key's full syncs only when each completed with every slice accepted. `lastGather` becomes `runUntil` only
 * when the run completed without `--only`, and never moves backwards.
 */
export function advanceState(state: State, run: RunProgress): State {
  const entries: Record<string, Date> = Object.create(null) as Record<string, Date>;
  for (const key of Object.keys(state.entries)) entries[key] = copy(state.entries[key]!);

  const positions = new Map<string, Date[]>();
  for (const collector of run.collectors) {
    const position = positionOf(collector, Object.hasOwn(state.entries, collector.key) ? state.entries[collector.key] : undefined);
    if (position === null) continue;
    positions.set(collector.key, [...(positions.get(collector.key) ?? []), position]);
  }
  for (const [key, list] of positions) entries[key] = copy(earliest(list));

  for (const key of new Set(run.collectors.filter((c) => c.fullSync !== null).map((c) => c.key))) {
    const syncs = run.collectors.filter((c) => c.key === key && c.fullSync !== null);
    if (syncs.every((c) => c.fullSync!.complete && c.collections.every((slice) => slice.accepted))) {
      entries[`${key}_full`] = copy(latest(syncs.map((c) => c.fullSync!.finishedAt)));
    }
  }

  const old = state.lastGather;
  const lastGather = run.completed && !run.only ? (old === null ? run.runUntil : latest([old, run.runUntil])) : old;
  return { version: 1, lastGather: lastGather === null ? null : copy(lastGather), entries };
}

/** Where one collector got to; null when it holds nothing back. */
export function positionOf(collector: CollectorProgress, old: Date | undefined): Date | null {
  let reached: Date | undefined;
  for (const collection of collector.collections) {
    if (!collection.accepted) return reached !== undefined ? later(old, reached) : (old ?? collection.since);
    reached = later(reached, collection.until);
  }
  if (reached !== undefined) return later(old, reached);
  if (collector.finished) return null;
  return old ?? collector.start;
}

const copy = (date: Date): Date => new Date(date.getTime());
const later = (a: Date | undefined, b: Date): Date => (a !== undefined && a.getTime() > b.getTime() ? a : b);
const latest = (dates: Date[]): Date => dates.reduce((a, b) => (b.getTime() > a.getTime() ? b : a));
const earliest = (dates: Date[]): Date => dates.reduce((a, b) => (b.getTime() < a.getTime() ? b : a));
