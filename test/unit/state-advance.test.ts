import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SliceRequest } from '../../src/collect/register.js';
import { advanceState, type CollectionOutcome, type FullSyncOutcome, type RunOutcome } from '../../src/state/advance.js';
import { collectorWindow, FOUR_WEEKS_MS, resolveRunWindow, sliceRequest } from '../../src/state/window.js';
import type { State } from '../../src/types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = (hours: number) => new Date(Date.UTC(2026, 10, 1) + hours * HOUR);
const RUN_UNTIL = T(100);

const state = (lastGather: Date | null, entries: Record<string, Date> = {}): State => ({ version: 1, lastGather, entries });
const ok = (key: string, from: number, to: number, extra: Partial<CollectionOutcome> = {}): CollectionOutcome => ({
  key, since: T(from), until: T(to), accepted: true, ...extra,
});
const failed = (key: string, from: number, to: number, extra: Partial<CollectionOutcome> = {}): CollectionOutcome => ({
  key, since: T(from), until: T(to), accepted: false, ...extra,
});
const outcome = (collections: CollectionOutcome[], extra: Partial<RunOutcome> = {}): RunOutcome => ({
  collections, fullSyncs: [], runUntil: RUN_UNTIL, completed: true, only: false, ...extra,
});

describe('advanceState: entries', () => {
  it('moves a new key to the until of its accepted collection', () => {
    assert.deepEqual(advanceState(state(null), outcome([ok('hosts', 0, 10)])).entries, { hosts: T(10) });
  });

  it('moves an existing entry forward to the accepted until', () => {
    assert.deepEqual(advanceState(state(null, { hosts: T(5) }), outcome([ok('hosts', 5, 10)])).entries, { hosts: T(10) });
  });

  it('never moves an entry back (an accepted --since window that ends earlier)', () => {
    assert.deepEqual(advanceState(state(null, { hosts: T(50) }), outcome([ok('hosts', 0, 10)])).entries, { hosts: T(50) });
  });

  it('advances slice by slice while every slice is accepted', () => {
    const next = advanceState(state(null, { jobs: T(0) }), outcome([ok('jobs', 0, 24), ok('jobs', 24, 48), ok('jobs', 48, 72)]));
    assert.deepEqual(next.entries, { jobs: T(72) });
  });

  it('freezes a key at its first failure: later accepted slices do not advance it', () => {
    const next = advanceState(
      state(null, { jobs: T(0) }),
      outcome([ok('jobs', 0, 24), failed('jobs', 24, 48), ok('jobs', 48, 72), ok('jobs', 72, 96)]),
    );
    assert.deepEqual(next.entries, { jobs: T(24) });
  });

  it('keeps an existing entry unchanged when the first collection fails', () => {
    assert.deepEqual(advanceState(state(null, { hosts: T(5) }), outcome([failed('hosts', 5, 10)])).entries, { hosts: T(5) });
  });

  it('sets a key without an entry to the since of its first failed collection', () => {
    const next = advanceState(state(null), outcome([failed('jobs', 3, 24), failed('jobs', 24, 48), ok('jobs', 48, 72)]));
    assert.deepEqual(next.entries, { jobs: T(3) });
  });

  it('after accepted slices of a new key, a failure leaves the entry at the last accepted until', () => {
    const next = advanceState(state(null), outcome([ok('jobs', 0, 24), failed('jobs', 24, 48)]));
    assert.deepEqual(next.entries, { jobs: T(24) });
  });

  it('freezes only the failing key; others advance', () => {
    const next = advanceState(
      state(null, { a: T(0), b: T(0) }),
      outcome([failed('a', 0, 24), ok('b', 0, 24), ok('a', 24, 48), ok('b', 24, 48)]),
    );
    assert.deepEqual(next.entries, { a: T(0), b: T(48) });
  });

  it('treats collectors sharing a key as one: a failure in one freezes the key for the other', () => {
    // Two slicing collectors with key "events": the second one's slice comes after the first one's failure.
    const next = advanceState(state(null, { events: T(0) }), outcome([failed('events', 0, 24), ok('events', 0, 24)]));
    assert.deepEqual(next.entries, { events: T(0) });
  });

  it('keeps entries of keys that did not run', () => {
    const next = advanceState(state(null, { old: T(1), old_full: T(2) }), outcome([ok('hosts', 0, 10)]));
    assert.deepEqual(next.entries, { old: T(1), old_full: T(2), hosts: T(10) });
  });

  it('still applies what was accepted when the run did not complete', () => {
    const next = advanceState(state(T(0)), outcome([ok('jobs', 0, 24)], { completed: false }));
    assert.deepEqual(next, state(T(0), { jobs: T(24) }));
  });
});

describe('advanceState: full syncs', () => {
  const full = (key: string, complete: boolean, at: number): FullSyncOutcome => ({ key, complete, finishedAt: T(at) });

  it('sets <key>_full to the finish time when every slice of a complete full sync was accepted', () => {
    const next = advanceState(
      state(null, { jobs: T(90) }),
      outcome([ok('jobs', 0, 24, { fullSync: true }), ok('jobs', 24, 48, { fullSync: true })], { fullSyncs: [full('jobs', true, 101)] }),
    );
    assert.deepEqual(next.entries, { jobs: T(90), jobs_full: T(101) });
  });

  it('leaves <key>_full alone when one slice failed', () => {
    const next = advanceState(
      state(null, { jobs: T(90), jobs_full: T(1) }),
      outcome([ok('jobs', 0, 24, { fullSync: true }), failed('jobs', 24, 48, { fullSync: true })], { fullSyncs: [full('jobs', true, 101)] }),
    );
    assert.deepEqual(next.entries, { jobs: T(90), jobs_full: T(1) });
  });

  it('leaves <key>_full alone when the full sync did not complete (slicer failed or run stopped)', () => {
    const next = advanceState(
      state(null, { jobs: T(90) }),
      outcome([ok('jobs', 0, 24, { fullSync: true })], { fullSyncs: [full('jobs', false, 101)], completed: false }),
    );
    assert.deepEqual(next.entries, { jobs: T(90) });
  });

  it('sets <key>_full for a complete full sync that yielded no slice', () => {
    const next = advanceState(state(null), outcome([], { fullSyncs: [full('jobs', true, 100)] }));
    assert.deepEqual(next.entries, { jobs_full: T(100) });
  });

  it('ignores failures of non-full-sync collections of the same key when judging the full sync', () => {
    const next = advanceState(
      state(null, { jobs: T(90) }),
      outcome([failed('jobs', 90, 100), ok('jobs', 0, 24, { fullSync: true })], { fullSyncs: [full('jobs', true, 101)] }),
    );
    assert.deepEqual(next.entries, { jobs: T(90), jobs_full: T(101) });
  });

  it('with two full syncs of one key, needs both complete, and takes the later finish time', () => {
    const slices = [ok('jobs', 0, 24, { fullSync: true }), ok('jobs', 0, 24, { fullSync: true })];
    const both = advanceState(state(null), outcome(slices, { fullSyncs: [full('jobs', true, 103), full('jobs', true, 102)] }));
    assert.deepEqual(both.entries.jobs_full, T(103));
    const one = advanceState(state(null), outcome(slices, { fullSyncs: [full('jobs', true, 103), full('jobs', false, 102)] }));
    assert.equal(one.entries.jobs_full, undefined);
  });

  it('judges each key\'s full sync by its own slices', () => {
    const next = advanceState(
      state(null),
      outcome([failed('a', 0, 24, { fullSync: true }), ok('b', 0, 24, { fullSync: true })], {
        fullSyncs: [full('a', true, 101), full('b', true, 102)],
      }),
    );
    assert.deepEqual(next.entries, { a: T(0), b: T(24), b_full: T(102) });
  });
});

describe('advanceState: lastGather', () => {
  it('becomes runUntil when the run completed without --only', () => {
    assert.deepEqual(advanceState(state(T(0)), outcome([])).lastGather, RUN_UNTIL);
    assert.deepEqual(advanceState(state(null), outcome([failed('a', 0, 1)])).lastGather, RUN_UNTIL);
  });

  it('stays when the run did not complete', () => {
    assert.deepEqual(advanceState(state(T(0)), outcome([], { completed: false })).lastGather, T(0));
    assert.equal(advanceState(state(null), outcome([], { completed: false })).lastGather, null);
  });

  it('stays with --only', () => {
    assert.deepEqual(advanceState(state(T(0)), outcome([ok('a', 0, 1)], { only: true })).lastGather, T(0));
    assert.equal(advanceState(state(null), outcome([], { only: true })).lastGather, null);
  });
});

describe('advanceState: purity', () => {
  it('does not mutate its inputs, and returns Dates that do not alias them', () => {
    const before = state(T(0), { jobs: T(5), jobs_full: T(1) });
    const run = outcome([ok('jobs', 5, 24, { fullSync: true }), failed('new', 3, 4)], {
      fullSyncs: [{ key: 'jobs', complete: true, finishedAt: T(100) }],
    });
    const snapshot = structuredClone({ before, run });
    const next = advanceState(before, run);
    assert.deepEqual({ before, run }, snapshot);
    next.entries.jobs!.setTime(0);
    next.entries.new!.setTime(0);
    next.lastGather!.setTime(0);
    next.entries.jobs_full!.setTime(0);
    assert.deepEqual({ before, run }, snapshot);
  });

  it('returns a new object even when nothing changed', () => {
    const before = state(T(0), { a: T(1) });
    const next = advanceState(before, outcome([], { completed: false }));
    assert.deepEqual(next, before);
    assert.notEqual(next, before);
    assert.notEqual(next.entries, before.entries);
  });
});

/*
 * The property the advance rule exists for: simulate many ship runs with random failures, interruptions and
 * --only, using the real window functions, and check that a key's entry never moves past a window that was not
 * accepted. Windows skipped on purpose by the 4-week limit count as covered; nothing else may be missing.
 */
describe('advanceState: property — no window is ever skipped', () => {
  type Interval = [number, number];
  const KEYS = ['hosts', 'jobs', 'events'] as const;

  /** Whether [from, to] is covered by the union of the intervals. */
  function covers(intervals: Interval[], from: number, to: number): boolean {
    let reached = from;
    for (const [start, end] of [...intervals].sort((a, b) => a[0] - b[0])) {
      if (reached >= to) break;
      if (start > reached) return false;
      reached = Math.max(reached, end);
    }
    return reached >= to;
  }

  /** Where a key's next window starts before the 4-week limit: its entry, else the last gather, else the origin. */
  const resumePoint = (s: State, key: string, origin: number): number =>
    (s.entries[key] ?? s.lastGather)?.getTime() ?? origin;

  /** Daily slices over [start, until). */
  function daily(start: number, until: number): Interval[] {
    const out: Interval[] = [];
    for (let s = start; s < until; s = Math.min(s + DAY, until)) out.push([s, Math.min(s + DAY, until)]);
    return out;
  }

  const run = fc.record({
    stepHours: fc.integer({ min: 1, max: 24 * 9 }),
    only: fc.option(fc.subarray([...KEYS], { minLength: 1 }), { freq: 4 }),
    stopAfter: fc.option(fc.nat({ max: 60 }), { freq: 3 }),
    accepted: fc.array(fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }), {
      minLength: 1,
      maxLength: 80,
    }),
  });

  type RunPlan = typeof run extends fc.Arbitrary<infer T> ? T : never;

  it('holds over random sequences of runs, and a final clean run covers the whole timeline', () => {
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 25 }), (runs) => {
        let current: State = { version: 1, lastGather: null, entries: {} };
        let now = Date.UTC(2026, 0, 1);
        const covered: Record<string, Interval[]> = { hosts: [], jobs: [], events: [] };
        // The start of the timeline: the first run's window (everything before it was never owed).
        let origin: number | undefined;

        const simulate = (r: RunPlan | 'clean') => {
          const clean = r === 'clean';
          now += clean ? HOUR : r.stepHours * HOUR;
          const window = resolveRunWindow({ now: new Date(now), state: current });
          const until = window.until.getTime();
          const floor = until - FOUR_WEEKS_MS;
          const keys = clean || r.only === null ? KEYS : KEYS.filter((k) => r.only!.includes(k));

          // What each collector would gather, in pipeline order.
          const planned: { key: string; slice: Interval; fullSync: boolean }[] = [];
          const fullSyncKeys: string[] = [];
          origin ??= floor;
          for (const key of keys) {
            // The 4-week limit drops what lies before `floor`: a deliberate skip, counted as covered.
            const base = resumePoint(current, key, origin);
            if (base < floor) covered[key]!.push([base, floor]);
            let slices: Interval[];
            let fullSync = false;
            if (key === 'hosts') {
              const w = collectorWindow({ key, since: null, until: window.until, lastGather: window.lastGather, state: current });
              slices = w === null ? [] : [[w.since.getTime(), w.until.getTime()]];
            } else {
              const request: SliceRequest = sliceRequest({
                key, since: null, until: window.until, lastGather: window.lastGather, state: current, now: new Date(now),
                fullSyncIntervalDays: key === 'jobs' ? 3 : undefined,
              });
              fullSync = request.fullSync;
              const start = fullSync ? floor : Math.max((request.lastEntry ?? request.lastGather).getTime(), floor);
              slices = daily(start, until);
              if (fullSync) fullSyncKeys.push(key);
            }
            for (const slice of slices) planned.push({ key, slice, fullSync });
          }

          const stop = clean || r.stopAfter === null ? planned.length : Math.min(r.stopAfter, planned.length);
          const collections: CollectionOutcome[] = planned.slice(0, stop).map(({ key, slice, fullSync }, i) => ({
            key,
            since: new Date(slice[0]),
            until: new Date(slice[1]),
            accepted: clean || r.accepted[i % r.accepted.length]!,
            fullSync,
          }));
          for (const c of collections) if (c.accepted) covered[c.key]!.push([c.since.getTime(), c.until.getTime()]);
          const fullSyncs: FullSyncOutcome[] = fullSyncKeys.map((key) => ({
            key,
            complete: !planned.slice(stop).some((p) => p.key === key),
            finishedAt: new Date(now),
          }));

          const before = current;
          current = advanceState(current, {
            collections, fullSyncs, runUntil: window.until, completed: stop === planned.length, only: !clean && r.only !== null,
          });

          for (const key of KEYS) {
            const entry = current.entries[key]?.getTime();
            const old = before.entries[key]?.getTime();
            assert.ok(old === undefined || (entry !== undefined && entry >= old), `${key}: entry moved back from ${old} to ${entry}`);
            // Where the next run resumes this key (before the 4-week limit): all before it must be covered.
            const resume = resumePoint(current, key, origin);
            assert.ok(
              covers(covered[key]!, origin, resume),
              `${key}: the next run would resume at ${new Date(resume).toISOString()}, past a window that was never accepted`,
            );
          }
          return until;
        };

        for (const r of runs) simulate(r);
        const finalUntil = simulate('clean');
        for (const key of KEYS) {
          assert.equal(current.entries[key]?.getTime(), finalUntil, `${key} reaches the end after a clean run`);
          assert.ok(covers(covered[key]!, origin!, finalUntil), `${key}: the timeline has a gap`);
        }
        assert.equal(current.lastGather?.getTime(), finalUntil);
      }),
      { numRuns: 150 },
    );
  });

  it('would catch a rule that advances past a failure (the check can fail)', () => {
    // Sanity check of the checker itself: a gap between accepted windows is found.
    assert.equal(covers([[0, 10], [11, 20]], 0, 20), false);
    assert.equal(covers([[0, 10], [10, 20]], 0, 20), true);
    assert.equal(covers([[5, 10]], 0, 10), false);
  });
});
