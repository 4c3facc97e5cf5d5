import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { advanceState, type CollectorProgress, type RunProgress } from '../../src/state/advance.js';
import { collectorWindow, FOUR_WEEKS_MS, resolveRunWindow, sliceRequest } from '../../src/state/window.js';
import type { State } from '../../src/types.js';
import { covers, type Interval } from '../helpers/intervals.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = (hours: number) => new Date(Date.UTC(2026, 10, 1) + hours * HOUR);
const RUN_UNTIL = T(100);

const state = (lastGather: Date | null, entries: Record<string, Date> = {}): State => ({ version: 1, lastGather, entries });
type Slice = [from: number, to: number, accepted: boolean];
const collector = (key: string, slices: Slice[], extra: Partial<CollectorProgress> = {}): CollectorProgress => ({
  key,
  collections: slices.map(([from, to, accepted]) => ({ since: T(from), until: T(to), accepted })),
  finished: true,
  start: slices.length > 0 ? T(slices[0]![0]) : null,
  fullSync: null,
  ...extra,
});
const run = (collectors: CollectorProgress[], extra: Partial<RunProgress> = {}): RunProgress => ({
  collectors, runUntil: RUN_UNTIL, completed: true, only: false, ...extra,
});
const entriesOf = (s: State): Record<string, Date> => ({ ...s.entries });

describe('advanceState: one collector per key', () => {
  const table: [name: string, before: Record<string, Date>, c: CollectorProgress, after: Record<string, Date>][] = [
    ['moves a new key to the until of its accepted collection', {}, collector('hosts', [[0, 10, true]]), { hosts: T(10) }],
    ['moves an existing entry forward', { hosts: T(5) }, collector('hosts', [[5, 10, true]]), { hosts: T(10) }],
    ['never moves an entry back', { hosts: T(50) }, collector('hosts', [[0, 10, true]]), { hosts: T(50) }],
    ['advances slice by slice', { jobs: T(0) }, collector('jobs', [[0, 24, true], [24, 48, true], [48, 72, true]]), { jobs: T(72) }],
    [
      'freezes at the first failure: later accepted slices do not count',
      { jobs: T(0) },
      collector('jobs', [[0, 24, true], [24, 48, false], [48, 72, true]]),
      { jobs: T(24) },
    ],
    ['keeps the old entry when the first collection fails', { hosts: T(5) }, collector('hosts', [[5, 10, false]]), { hosts: T(5) }],
    ['a new key stops at the since of its first failure', {}, collector('jobs', [[3, 24, false], [24, 48, true]]), { jobs: T(3) }],
    ['a new key stops at the last accepted until before a failure', {}, collector('jobs', [[0, 24, true], [24, 48, false]]), { jobs: T(24) }],
    [
      'a collector stopped between slices keeps what was accepted',
      { jobs: T(0) },
      collector('jobs', [[0, 24, true]], { finished: false }),
      { jobs: T(24) },
    ],
    ['a collector that never ran keeps the old entry', { jobs: T(7) }, collector('jobs', [], { finished: false, start: T(7) }), { jobs: T(7) }],
    ['a new key that never ran starts at its window next time', {}, collector('jobs', [], { finished: false, start: T(9) }), { jobs: T(9) }],
    ['an empty window leaves a new key without an entry', {}, collector('hosts', [], { finished: true, start: null }), {}],
    ['a slicer that yielded nothing leaves the entry', { jobs: T(7) }, collector('jobs', [], { finished: true }), { jobs: T(7) }],
  ];
  for (const [name, before, c, after] of table) {
    it(name, () => assert.deepEqual(entriesOf(advanceState(state(null, before), run([c]))), after));
  }

  it('leaves other keys alone and works for any key name', () => {
    const next = advanceState(state(null, { old: T(1), old_full: T(2) }), run([collector('constructor', [[0, 10, true]])]));
    assert.deepEqual(entriesOf(next), { old: T(1), old_full: T(2), constructor: T(10) });
    assert.equal(Object.getPrototypeOf(next.entries), null);
  });
});

describe('advanceState: collectors sharing a key (the smallest position wins)', () => {
  it('a failed slice of B holds the key there, whatever A reached (defect 1)', () => {
    const a = collector('events', [[0, 24, true], [24, 48, true], [48, 72, true]]);
    const b = collector('events', [[0, 24, true], [24, 48, false], [48, 72, true]]);
    assert.deepEqual(entriesOf(advanceState(state(null, { events: T(0) }), run([a, b]))), { events: T(24) });
  });

  it('B stopped by a signal before it started: the key keeps its old entry', () => {
    const a = collector('events', [[0, 24, true], [24, 48, true]]);
    const b = collector('events', [], { finished: false, start: T(0) });
    assert.deepEqual(entriesOf(advanceState(state(null, { events: T(0) }), run([a, b], { completed: false }))), { events: T(0) });
  });

  it('a new key with B never started: B’s window start', () => {
    const a = collector('events', [[0, 24, true]]);
    const b = collector('events', [], { finished: false, start: T(0) });
    assert.deepEqual(entriesOf(advanceState(state(null), run([a, b], { completed: false }))), { events: T(0) });
  });

  it('a collector whose slicer yielded nothing holds nothing back', () => {
    const a = collector('events', [[0, 24, true], [24, 48, true]]);
    const b = collector('events', [], { finished: true, start: T(0) });
    assert.deepEqual(entriesOf(advanceState(state(null, { events: T(0) }), run([a, b]))), { events: T(48) });
  });

  it('a collector with nothing accepted yet (in flight) holds the key', () => {
    const a = collector('events', [[0, 24, true]]);
    const b = collector('events', [[0, 24, false]], { finished: false });
    assert.deepEqual(entriesOf(advanceState(state(null, { events: T(0) }), run([a, b], { completed: false }))), { events: T(0) });
  });
});

describe('advanceState: full syncs', () => {
  const full = (complete: boolean, at: number) => ({ fullSync: { complete, finishedAt: T(at) } });
  it('records the finish time when every slice was accepted', () => {
    const next = advanceState(state(null), run([collector('jobs', [[0, 24, true], [24, 48, true]], full(true, 101))]));
    assert.deepEqual(next.entries.jobs_full, T(101));
  });
  it('not when a slice failed, or the sync did not complete', () => {
    assert.equal(advanceState(state(null), run([collector('jobs', [[0, 24, true], [24, 48, false]], full(true, 101))])).entries.jobs_full, undefined);
    assert.equal(advanceState(state(null), run([collector('jobs', [[0, 24, true]], { ...full(false, 101), finished: false })])).entries.jobs_full, undefined);
  });
  it('a full sync without slices completes too', () => {
    assert.deepEqual(advanceState(state(null), run([collector('jobs', [], full(true, 100))])).entries.jobs_full, T(100));
  });
  it('needs every collector of the key: the latest finish time wins', () => {
    const a = collector('events', [[0, 24, true]], full(true, 103));
    const b = collector('events', [[0, 24, true]], full(true, 102));
    assert.deepEqual(advanceState(state(null), run([a, b])).entries.events_full, T(103));
    const bFailed = collector('events', [[0, 24, false]], full(true, 102));
    assert.equal(advanceState(state(null), run([a, bFailed])).entries.events_full, undefined);
  });
});

describe('advanceState: lastGather', () => {
  it('becomes the run’s until when the run completed without --only', () => {
    assert.deepEqual(advanceState(state(T(0)), run([])).lastGather, RUN_UNTIL);
    assert.deepEqual(advanceState(state(null), run([collector('a', [[0, 1, false]])])).lastGather, RUN_UNTIL);
  });
  it('stays when the run was cut short or limited with --only', () => {
    assert.deepEqual(advanceState(state(T(0)), run([], { completed: false })).lastGather, T(0));
    assert.equal(advanceState(state(null), run([], { completed: false })).lastGather, null);
    assert.deepEqual(advanceState(state(T(0)), run([], { only: true })).lastGather, T(0));
  });
  it('never moves backwards', () => {
    assert.deepEqual(advanceState(state(T(200)), run([])).lastGather, T(200));
  });
});

describe('advanceState: purity', () => {
  it('does not mutate its input and shares no Date with it', () => {
    const before = state(T(0), { jobs: T(5) });
    const snapshot = structuredClone(before);
    const input = run([collector('jobs', [[5, 10, true]])]);
    const next = advanceState(before, input);
    assert.deepEqual(before, snapshot);
    next.entries.jobs!.setTime(0);
    assert.deepEqual(input.collectors[0]!.collections[0]!.until, T(10));
  });
});

/*
 * The property the advance rule exists for: many ship runs with random failures, runs cut short and --only,
 * collectors sharing a key, using the real window functions; a key's entry never moves past a window that one of
 * its collectors has not had accepted. Windows dropped on purpose by the 4-week limit count as covered.
 */
describe('advanceState: property — no window is ever skipped', () => {
  const COLLECTORS = [
    { name: 'hosts', key: 'hosts', sliced: false, fullSyncDays: undefined },
    { name: 'jobs', key: 'jobs', sliced: true, fullSyncDays: 3 },
    { name: 'eventsA', key: 'events', sliced: true, fullSyncDays: undefined },
    { name: 'eventsB', key: 'events', sliced: true, fullSyncDays: 5 },
  ] as const;
  const KEYS = ['hosts', 'jobs', 'events'];

  const resumePoint = (s: State, key: string, origin: number): number => (s.entries[key] ?? s.lastGather)?.getTime() ?? origin;
  function daily(start: number, until: number): Interval[] {
    const out: Interval[] = [];
    for (let s = start; s < until; s = Math.min(s + DAY, until)) out.push([s, Math.min(s + DAY, until)]);
    return out;
  }

  const runArb = fc.record({
    stepHours: fc.integer({ min: 1, max: 24 * 9 }),
    only: fc.option(fc.subarray(KEYS, { minLength: 1 }), { freq: 4 }),
    stopAfter: fc.option(fc.nat({ max: 60 }), { freq: 3 }),
    accepted: fc.array(fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }), { minLength: 1, maxLength: 80 }),
  });
  type RunPlan = typeof runArb extends fc.Arbitrary<infer R> ? R : never;

  it('holds over random sequences of runs, and a final clean run covers the whole timeline', () => {
    fc.assert(
      fc.property(fc.array(runArb, { minLength: 1, maxLength: 25 }), (runs) => {
        let current: State = { version: 1, lastGather: null, entries: Object.create(null) as Record<string, Date> };
        let now = Date.UTC(2026, 0, 1);
        const covered: Record<string, Interval[]> = { hosts: [], jobs: [], eventsA: [], eventsB: [] };
        let origin: number | undefined;

        const simulate = (r: RunPlan | 'clean'): number => {
          const clean = r === 'clean';
          now += clean ? HOUR : r.stepHours * HOUR;
          const window = resolveRunWindow({ now: new Date(now), state: current });
          const until = window.until.getTime();
          const floor = until - FOUR_WEEKS_MS;
          origin ??= floor;
          const chosen = COLLECTORS.filter((c) => clean || r.only === null || r.only.includes(c.key));
          const planned: { index: number; slice: Interval }[] = [];
          const progress: CollectorProgress[] = chosen.map((c, index) => {
            const base = resumePoint(current, c.key, origin!);
            if (base < floor) covered[c.name]!.push([base, floor]);
            const w = collectorWindow({ key: c.key, since: null, until: window.until, lastGather: window.lastGather, state: current });
            let slices: Interval[];
            let fullSync = false;
            if (!c.sliced) slices = w === null ? [] : [[w.since.getTime(), w.until.getTime()]];
            else {
              const request = sliceRequest({
                key: c.key, since: null, until: window.until, lastGather: window.lastGather, state: current, now: new Date(now),
                fullSyncIntervalDays: c.fullSyncDays,
              });
              fullSync = request.fullSync;
              slices = daily(fullSync ? floor : Math.max((request.lastEntry ?? request.lastGather).getTime(), floor), until);
            }
            for (const slice of slices) planned.push({ index, slice });
            return { key: c.key, collections: [], finished: true, start: w?.since ?? null, fullSync: fullSync ? { complete: true, finishedAt: new Date(now) } : null };
          });
          const stop = clean || r.stopAfter === null ? planned.length : Math.min(r.stopAfter, planned.length);
          planned.forEach(({ index, slice }, i) => {
            const p = progress[index]! as unknown as { collections: { since: Date; until: Date; accepted: boolean }[]; finished: boolean; fullSync: { complete: boolean; finishedAt: Date } | null };
            if (i >= stop) {
              p.finished = false;
              if (p.fullSync) p.fullSync.complete = false;
              return;
            }
            const accepted = clean || r.accepted[i % r.accepted.length]!;
            p.collections.push({ since: new Date(slice[0]), until: new Date(slice[1]), accepted });
            if (accepted) covered[chosen[index]!.name]!.push(slice);
          });

          const before = current;
          current = advanceState(current, { collectors: progress, runUntil: window.until, completed: stop === planned.length, only: !clean && r.only !== null });
          for (const c of COLLECTORS) {
            const entry = current.entries[c.key]?.getTime();
            const old = before.entries[c.key]?.getTime();
            assert.ok(old === undefined || (entry !== undefined && entry >= old), `${c.key}: entry moved back`);
            const resume = resumePoint(current, c.key, origin);
            assert.ok(covers(covered[c.name]!, origin, resume), `${c.name}: the next run would resume ${c.key} at ${new Date(resume).toISOString()}, past a window it never had accepted`);
          }
          return until;
        };

        for (const r of runs) simulate(r);
        const finalUntil = simulate('clean');
        for (const c of COLLECTORS) {
          assert.equal(current.entries[c.key]?.getTime(), finalUntil, `${c.key} reaches the end after a clean run`);
          assert.ok(covers(covered[c.name]!, origin!, finalUntil), `${c.name}: the timeline has a gap`);
        }
        assert.equal(current.lastGather?.getTime(), finalUntil);
      }),
      { numRuns: 150 },
    );
  });

  it('the checker can fail', () => {
    assert.equal(covers([[0, 10], [11, 20]], 0, 20), false);
    assert.equal(covers([[0, 10], [10, 20]], 0, 20), true);
  });
});
