import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SliceRequest, SlicingFunction } from '../../src/collect/register.js';
import {
  collectorWindow,
  collectSlices,
  FOUR_WEEKS_MS,
  parseDateFlag,
  resolveRunWindow,
  sliceRequest,
} from '../../src/state/window.js';
import type { State } from '../../src/types.js';
import { assertUsageError } from '../helpers/errors.js';

const d = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = d('2026-11-28T01:33:06.000Z');
const empty = (): State => ({ version: 1, lastGather: null, entries: {} });
const stateWith = (lastGather: Date | null, entries: Record<string, Date> = {}): State => ({ version: 1, lastGather, entries });

/** Asserts a usage error (exit 2) whose message contains every fragment. */
function assertUsage(fn: () => unknown, ...fragments: string[]) {
  assert.throws(fn, (err: unknown) => assertUsageError(err, ...fragments));
}

describe('resolveRunWindow', () => {
  it('defaults until to now, since to null and lastGather to until - 4 weeks', () => {
    const w = resolveRunWindow({ now: NOW, state: empty() });
    assert.deepEqual(w, { since: null, until: NOW, lastGather: new Date(NOW.getTime() - FOUR_WEEKS_MS), warnings: [] });
    assert.equal(FOUR_WEEKS_MS, 28 * DAY);
  });

  it('keeps a past --until as given, without warning', () => {
    const until = d('2026-11-20T00:00:00Z');
    const w = resolveRunWindow({ until, now: NOW, state: empty() });
    assert.deepEqual(w.until, until);
    assert.deepEqual(w.warnings, []);
  });

  it('sets a future --until to now, with a warning saying so', () => {
    const w = resolveRunWindow({ until: d('2027-01-01T00:00:00Z'), now: NOW, state: empty() });
    assert.deepEqual(w.until, NOW);
    assert.equal(w.warnings.length, 1);
    assert.match(w.warnings[0]!, /--until 2027-01-01T00:00:00\.000Z is in the future; using now \(2026-11-28T01:33:06\.000Z\)/);
  });

  it('rejects a future --since as a usage error naming --since', () => {
    assertUsage(() => resolveRunWindow({ since: new Date(NOW.getTime() + 1), now: NOW, state: empty() }), '--since', 'future');
  });

  it('accepts --since equal to now only if until is later, which it cannot be: usage error naming --since', () => {
    assertUsage(() => resolveRunWindow({ since: NOW, now: NOW, state: empty() }), '--since', 'earlier than');
  });

  it('with --since alone, until = since + 4 weeks when that is in the past', () => {
    const since = d('2026-09-01T00:00:00Z');
    const w = resolveRunWindow({ since, now: NOW, state: empty() });
    assert.deepEqual(w.since, since);
    assert.deepEqual(w.until, new Date(since.getTime() + FOUR_WEEKS_MS));
    assert.deepEqual(w.warnings, []);
  });

  it('with --since alone, until = now when since + 4 weeks is in the future', () => {
    const since = d('2026-11-20T00:00:00Z');
    const w = resolveRunWindow({ since, now: NOW, state: empty() });
    assert.deepEqual(w.until, NOW);
    assert.deepEqual(w.warnings, []);
  });

  it('with both, keeps a window of at most 4 weeks as given', () => {
    const since = d('2026-10-01T00:00:00Z');
    const until = new Date(since.getTime() + FOUR_WEEKS_MS);
    const w = resolveRunWindow({ since, until, now: NOW, state: empty() });
    assert.deepEqual([w.since, w.until, w.warnings], [since, until, []]);
  });

  it('with both, cuts until to since + 4 weeks, with a warning saying so', () => {
    const since = d('2026-09-01T00:00:00Z');
    const w = resolveRunWindow({ since, until: d('2026-11-01T00:00:00Z'), now: NOW, state: empty() });
    assert.deepEqual(w.until, d('2026-09-29T00:00:00Z'));
    assert.equal(w.warnings.length, 1);
    assert.match(w.warnings[0]!, /--until 2026-11-01T00:00:00\.000Z is more than 4 weeks after --since; using 2026-09-29T00:00:00\.000Z/);
  });

  it('with both and a future until, first sets it to now, then cuts it (two warnings)', () => {
    const since = d('2026-10-01T00:00:00Z');
    const w = resolveRunWindow({ since, until: d('2027-01-01T00:00:00Z'), now: NOW, state: empty() });
    assert.deepEqual(w.until, d('2026-10-29T00:00:00Z'));
    assert.equal(w.warnings.length, 2);
  });

  it('rejects since >= until, naming both flags', () => {
    const t = d('2026-11-01T00:00:00Z');
    assertUsage(() => resolveRunWindow({ since: t, until: t, now: NOW, state: empty() }), '--since', '--until');
    assertUsage(() => resolveRunWindow({ since: t, until: new Date(t.getTime() - 1), now: NOW, state: empty() }), '--since', '--until');
  });

  it('takes lastGather from the state when within 4 weeks of until', () => {
    const last = d('2026-11-27T00:00:00Z');
    assert.deepEqual(resolveRunWindow({ now: NOW, state: stateWith(last) }).lastGather, last);
  });

  it('raises an older state lastGather to until - 4 weeks', () => {
    const w = resolveRunWindow({ now: NOW, state: stateWith(d('2025-01-01T00:00:00Z')) });
    assert.deepEqual(w.lastGather, new Date(NOW.getTime() - FOUR_WEEKS_MS));
  });

  it('measures the 4 weeks from the resolved until, not from now', () => {
    const until = d('2026-10-01T00:00:00Z');
    const w = resolveRunWindow({ until, now: NOW, state: stateWith(d('2026-08-01T00:00:00Z')) });
    assert.deepEqual(w.lastGather, d('2026-09-03T00:00:00Z'));
  });

  it('returns fresh Date objects that do not alias the inputs', () => {
    const state = stateWith(d('2026-11-27T00:00:00Z'));
    const w = resolveRunWindow({ now: NOW, state });
    w.until.setTime(0);
    w.lastGather.setTime(0);
    assert.deepEqual(NOW, d('2026-11-28T01:33:06.000Z'));
    assert.deepEqual(state.lastGather, d('2026-11-27T00:00:00Z'));
  });
});

describe('parseDateFlag', () => {
  const ok: [string, string][] = [
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T12:00', '2026-11-01T12:00:00.000Z'],
    ['2026-11-01T12:00:30', '2026-11-01T12:00:30.000Z'],
    ['2026-11-01T12:00:00Z', '2026-11-01T12:00:00.000Z'],
    ['2026-11-01T12:00:00.5Z', '2026-11-01T12:00:00.500Z'],
    ['2026-11-01T12:00:00.123456789Z', '2026-11-01T12:00:00.123Z'],
    ['2026-11-01T12:00:00+02:00', '2026-11-01T10:00:00.000Z'],
    ['2026-11-01T12:00:00-0530', '2026-11-01T17:30:00.000Z'],
    ['2026-11-01T12:00+01', '2026-11-01T11:00:00.000Z'],
    ['2026-11-01T00:30:00+01:00', '2026-10-31T23:30:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['0050-01-01', '0050-01-01T00:00:00.000Z'],
    // A space for the T, as RFC 3339 allows (issue 13).
    ['2026-11-01 12:00', '2026-11-01T12:00:00.000Z'],
    ['2026-11-30 10:00:05+01:00', '2026-11-30T09:00:05.000Z'],
  ];
  for (const [text, expected] of ok) {
    it(`reads ${text} as ${expected}`, () => assert.equal(parseDateFlag('--since', text).toISOString(), expected));
  }

  const bad = [
    '2026-13-01', '2026-00-10', '2026-02-29', '1900-02-29', '2026-04-31', '2026-11-00', 'yesterday', '1700000000',
    '1700000000000', '', ' 2026-11-01', '2026-11-01 ', '2026-11-1', '26-11-01', '2026/11/01', '2026-11-01T24:00',
    '2026-11-01T12:60', '2026-11-01T12:00:60', '2026-11-01T12', '2026-11-01  12:00', '2026-11-01 12', '2026-11-01Z', '2026-11-01+02:00',
    '2026-11-01T12:00:00+24:00', '2026-11-01T12:00:00+02:60', '2026-11-01T12:00:00z', 'Sun Nov 01 2026', '2026-11-01T12:00:00.Z',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)} naming the flag and the format`, () => {
      assertUsage(() => parseDateFlag('--until', text), '--until', JSON.stringify(text), 'ISO 8601', '2026-11-01');
    });
  }
});

describe('collectorWindow', () => {
  const until = NOW;
  const lastGather = d('2026-11-27T00:00:00Z');

  it('uses --since when given, whatever the state says', () => {
    const since = d('2026-11-01T00:00:00Z');
    const state = stateWith(lastGather, { jobs: d('2026-11-20T00:00:00Z') });
    assert.deepEqual(collectorWindow({ key: 'jobs', since, until, lastGather, state }), { since, until });
  });

  it('starts at the key\'s entry when it has one', () => {
    const entry = d('2026-11-20T00:00:00Z');
    const state = stateWith(lastGather, { jobs: entry });
    assert.deepEqual(collectorWindow({ key: 'jobs', since: null, until, lastGather, state }), { since: entry, until });
  });

  it('starts at lastGather for a key without an entry', () => {
    const state = stateWith(lastGather, { other: d('2026-11-01T00:00:00Z') });
    assert.deepEqual(collectorWindow({ key: 'jobs', since: null, until, lastGather, state }), { since: lastGather, until });
  });

  it('never starts earlier than until - 4 weeks', () => {
    const state = stateWith(lastGather, { jobs: d('2025-01-01T00:00:00Z') });
    assert.deepEqual(collectorWindow({ key: 'jobs', since: null, until, lastGather, state }), {
      since: new Date(until.getTime() - FOUR_WEEKS_MS),
      until,
    });
  });

  it('is null (not called) when the start is at or after until', () => {
    assert.equal(collectorWindow({ key: 'jobs', since: null, until, lastGather, state: stateWith(lastGather, { jobs: until }) }), null);
    const later = new Date(until.getTime() + HOUR);
    assert.equal(collectorWindow({ key: 'jobs', since: null, until, lastGather, state: stateWith(lastGather, { jobs: later }) }), null);
  });
});

describe('sliceRequest', () => {
  const base = { key: 'jobs', since: null, until: NOW, lastGather: d('2026-11-27T00:00:00Z'), now: NOW };

  it('passes key, since, until, lastGather and lastEntry (null without an entry)', () => {
    assert.deepEqual(sliceRequest({ ...base, state: empty() }), {
      key: 'jobs', since: null, until: NOW, lastGather: d('2026-11-27T00:00:00Z'), lastEntry: null, fullSync: false,
    });
    const since = d('2026-11-10T00:00:00Z');
    const entry = d('2026-11-26T00:00:00Z');
    const request = sliceRequest({ ...base, since, state: stateWith(null, { jobs: entry }) });
    assert.deepEqual([request.since, request.lastEntry], [since, entry]);
  });

  it('never asks for a full sync without fullSyncIntervalDays', () => {
    assert.equal(sliceRequest({ ...base, state: empty() }).fullSync, false);
  });

  it('asks for a full sync when the _full entry is missing', () => {
    assert.equal(sliceRequest({ ...base, state: stateWith(null, { jobs: NOW }), fullSyncIntervalDays: 7 }).fullSync, true);
  });

  it('asks for a full sync only when the _full entry is older than the interval', () => {
    const at = (ms: number) => sliceRequest({ ...base, state: stateWith(null, { jobs_full: new Date(NOW.getTime() - ms) }), fullSyncIntervalDays: 7 });
    assert.equal(at(7 * DAY - 1).fullSync, false);
    assert.equal(at(7 * DAY).fullSync, false);
    assert.equal(at(7 * DAY + 1).fullSync, true);
    // Fractional intervals are honoured.
    const half = sliceRequest({ ...base, state: stateWith(null, { jobs_full: new Date(NOW.getTime() - 13 * HOUR) }), fullSyncIntervalDays: 0.5 });
    assert.equal(half.fullSync, true);
  });

  it('looks at <key>_full of its own key only', () => {
    const state = stateWith(null, { other_full: NOW });
    assert.equal(sliceRequest({ ...base, state, fullSyncIntervalDays: 1 }).fullSync, true);
  });
});

describe('collectSlices', () => {
  const request: SliceRequest = sliceRequest({
    key: 'jobs', since: null, until: NOW, lastGather: d('2026-10-31T01:33:06.000Z'), state: empty(), now: NOW,
  });

  const collect = async (slicing: SlicingFunction, signal?: AbortSignal) => {
    const out: [Date, Date][] = [];
    for await (const slice of collectSlices(slicing, request, signal)) out.push(slice);
    return out;
  };

  /** A daily slicer over [lastEntry ?? lastGather, until). */
  function* daily({ lastEntry, lastGather, until }: SliceRequest): Generator<[Date, Date]> {
    let start = (lastEntry ?? lastGather).getTime();
    while (start < until.getTime()) {
      const end = Math.min(start + DAY, until.getTime());
      yield [new Date(start), new Date(end)];
      start = end;
    }
  }

  it('yields nothing for an empty slicer', async () => {
    assert.deepEqual(await collect(() => []), []);
  });

  it('yields one slice', async () => {
    const slice: [Date, Date] = [d('2026-11-01T00:00:00Z'), d('2026-11-02T00:00:00Z')];
    assert.deepEqual(await collect(() => [slice]), [slice]);
  });

  it('yields 28 daily slices covering 4 weeks, in order', async () => {
    const slices = await collect(daily);
    assert.equal(slices.length, 28);
    assert.deepEqual(slices[0]![0], request.lastGather);
    assert.deepEqual(slices[27]![1], NOW);
    for (let i = 1; i < slices.length; i++) assert.deepEqual(slices[i]![0], slices[i - 1]![1]);
  });

  it('passes the request to the slicer', async () => {
    let seen: SliceRequest | undefined;
    await collect((r) => ((seen = r), []));
    assert.equal(seen, request);
  });

  it('accepts async generators and promised iterables', async () => {
    const slice: [Date, Date] = [d('2026-11-01T00:00:00Z'), d('2026-11-02T00:00:00Z')];
    assert.deepEqual(await collect(async function* () { yield slice; }), [slice]);
    assert.deepEqual(await collect(async () => [slice]), [slice]);
    assert.deepEqual(await collect(() => new Set([slice])), [slice]);
  });

  it('copies slice dates so the slicer cannot change them afterwards', async () => {
    const start = d('2026-11-01T00:00:00Z');
    const end = d('2026-11-02T00:00:00Z');
    const [slice] = await collect(() => [[start, end]]);
    start.setTime(0);
    assert.deepEqual(slice, [d('2026-11-01T00:00:00Z'), end]);
  });

  it('is lazy: the slicer is pulled one slice at a time, and closed when the consumer stops', async () => {
    const pulled: number[] = [];
    let closed = false;
    const slicing: SlicingFunction = function* (r) {
      try {
        let i = 0;
        for (const slice of daily(r)) {
          pulled.push(i++);
          yield slice;
        }
      } finally {
        closed = true;
      }
    };
    const slices = collectSlices(slicing, request);
    const first = await slices.next();
    assert.equal(first.done, false);
    assert.deepEqual(pulled, [0]);
    await slices.next();
    assert.deepEqual(pulled, [0, 1]);
    await slices.return();
    assert.equal(closed, true);
  });

  const badSlices: [string, unknown, RegExp][] = [
    ['a non-array', d('2026-11-01T00:00:00Z'), /slice 2 is .*not a \[since, until\] pair/],
    ['a triple', [d('2026-11-01T00:00:00Z'), d('2026-11-02T00:00:00Z'), d('2026-11-03T00:00:00Z')], /slice 2 is an array of 3/],
    ['strings', ['2026-11-01', '2026-11-02'], /slice 2 .*valid Date/],
    ['numbers', [0, 1], /slice 2 .*valid Date/],
    ['an invalid Date', [new Date('nope'), d('2026-11-02T00:00:00Z')], /slice 2 is \[an invalid Date, .*valid Date/],
    ['since == until', [d('2026-11-01T00:00:00Z'), d('2026-11-01T00:00:00Z')], /slice 2 .*does not have since < until/],
    ['since > until', [d('2026-11-02T00:00:00Z'), d('2026-11-01T00:00:00Z')], /slice 2 .*does not have since < until/],
    ['null', null, /slice 2 is null/],
  ];
  for (const [what, item, pattern] of badSlices) {
    it(`fails on ${what}, after yielding the good slices before it`, async () => {
      const good: [Date, Date] = [d('2026-10-31T00:00:00Z'), d('2026-11-01T00:00:00Z')];
      const got: [Date, Date][] = [];
      await assert.rejects(
        (async () => {
          for await (const slice of collectSlices(() => [good, item] as never, request)) got.push(slice);
        })(),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.match(err.message, /slicing of "jobs"/);
          assert.match(err.message, pattern);
          return true;
        },
      );
      assert.deepEqual(got, [good]);
    });
  }

  for (const [what, returned] of [['undefined', undefined], ['a Date', new Date()], ['a string', 'x'], ['a number', 3]] as const) {
    it(`fails when the slicer returns ${what}`, async () => {
      await assert.rejects(collect(() => returned as never), /slicing of "jobs" returned .*not an iterable/);
    });
  }

  it('passes on what the slicer throws, synchronously or asynchronously', async () => {
    await assert.rejects(collect(() => { throw new Error('db down'); }), /db down/);
    await assert.rejects(collect(async function* () { yield* []; throw new Error('late'); }), /late/);
  });

  it('stops with the abort reason once the signal is aborted', async () => {
    const controller = new AbortController();
    const slices = collectSlices(daily, request, controller.signal);
    await slices.next();
    controller.abort(new Error('SIGTERM'));
    await assert.rejects(slices.next(), /SIGTERM/);
    const aborted = AbortSignal.abort(new Error('stopped'));
    await assert.rejects(collect(daily, aborted), /stopped/);
  });
});
