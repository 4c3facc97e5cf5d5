/**
 * The advance rule (contract §4): how a ship run's outcome moves the state forward, as a pure function.
 *
 * The guarantee it keeps: a key's entry only moves past windows that were accepted, so a failure never lets a
 * later run skip data. Dry runs never call this (they do not write the state).
 */
import type { State } from '../types.js';

/** One collection (a whole window, or one slice) of a non-config collector, as the run ended for it. */
export interface CollectionOutcome {
  key: string;
  /** The window (or slice) it was asked to collect. */
  since: Date;
  until: Date;
  /**
   * True when it was gathered and every tarball holding its files was accepted by the ingress; an empty
   * collection (nothing to ship) counts as accepted. False when gathering failed, an upload failed, or the
   * run stopped before its tarballs were accepted.
   */
  accepted: boolean;
  /** True for a slice of a full sync (its slicing function was called with `fullSync: true`). */
  fullSync?: boolean;
}

/** A full sync that was started this run (its slicing function was called with `fullSync: true`). */
export interface FullSyncOutcome {
  key: string;
  /**
   * True when the slicing function ran to its end and every slice it yielded was gathered (whether the slices
   * were accepted is read from `collections`). False when it threw, yielded a bad slice, or the run stopped first.
   */
  complete: boolean;
  /** When its last slice finished (when the slicer ended, for a full sync that yielded no slice). */
  finishedAt: Date;
}

/** What happened in a ship run, as far as the state is concerned. */
export interface RunOutcome {
  /**
   * Every collection that was attempted, in the order gathered, so slices of a key are in slice order.
   * Collections never started (the run stopped first) are left out. The config collector is not included.
   */
  collections: readonly CollectionOutcome[];
  fullSyncs: readonly FullSyncOutcome[];
  /** The run's `until`. */
  runUntil: Date;
  /** True when the run reached its end (not stopped by a signal or an error before finishing). */
  completed: boolean;
  /** True when the run was limited with `--only`. */
  only: boolean;
}

/**
 * Returns the state after a ship run. Per key, in order: an accepted collection moves `entries[key]` to
 * `max(old, until)`; the first failed one freezes the key for the rest of the run (and, if the key has no
 * entry, sets it to that collection's `since`, so the next run starts exactly there). `entries['<key>_full']`
 * becomes the full sync's finish time only when it completed and every one of its slices was accepted.
 * `lastGather` becomes `runUntil` only when the run completed without `--only`. The input is not mutated.
 */
export function advanceState(state: State, outcome: RunOutcome): State {
  const entries: Record<string, Date> = {};
  for (const [key, value] of Object.entries(state.entries)) entries[key] = copy(value);

  const frozen = new Set<string>();
  for (const collection of outcome.collections) {
    const { key } = collection;
    if (frozen.has(key)) continue;
    const old = entries[key];
    if (collection.accepted) {
      if (old === undefined || old.getTime() < collection.until.getTime()) entries[key] = copy(collection.until);
    } else {
      frozen.add(key);
      if (old === undefined) entries[key] = copy(collection.since);
    }
  }

  for (const key of new Set(outcome.fullSyncs.map((sync) => sync.key))) {
    const syncs = outcome.fullSyncs.filter((sync) => sync.key === key);
    const everySliceAccepted = outcome.collections.every((c) => c.key !== key || c.fullSync !== true || c.accepted);
    if (everySliceAccepted && syncs.every((sync) => sync.complete)) {
      entries[`${key}_full`] = copy(latest(syncs.map((sync) => sync.finishedAt)));
    }
  }

  const lastGather = outcome.completed && !outcome.only ? copy(outcome.runUntil) : state.lastGather && copy(state.lastGather);
  return { version: 1, lastGather, entries };
}

const copy = (date: Date): Date => new Date(date.getTime());
const latest = (dates: Date[]): Date => dates.reduce((a, b) => (b.getTime() > a.getTime() ? b : a));
