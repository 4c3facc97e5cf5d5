/**
 * The ledger: one record for the report's collections and the state advance's input. Here: failures of
 * collector code that arrive after the collection returned (contract §2) — before or after it is recorded, after
 * its tarball was accepted, after the ledger was sealed — and that the report and the advance agree on them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { register } from '../../src/collect/register.js';
import { LateTicket, Ledger } from '../../src/run/ledger.js';
import { advanceState } from '../../src/state/advance.js';
import type { State } from '../../src/types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);
const day = (n: number): Date => new Date(T0 + n * DAY);
const UNTIL = day(3);
const sliced = register({ key: 'events', version: '1.0', slicing: () => [] }, () => null);
const plain = register({ key: 'jobs', version: '1.0' }, () => null);
const OLD: State = { version: 1, lastGather: day(0), entries: { events: day(0), jobs: day(0) } };

/** A ledger with collector 0 = `events` (sliced) and 1 = `jobs`, both starting at day 0. */
const ledger = (): Ledger => new Ledger([{ collector: sliced, start: day(0) }, { collector: plain, start: day(0) }]);

/** Records slice `n` (day n → n+1) of `events` as ok, in tarball `id`, accepted when `accepted`. */
function slice(l: Ledger, n: number, id: number, ticket?: LateTicket, accepted = true) {
  const entry = l.record(0, { since: day(n), until: day(n + 1), status: 'ok', error: null }, true, ticket);
  l.placedIn(entry, id);
  if (accepted) l.accept(id);
  return entry;
}

const advance = (l: Ledger): Date | undefined =>
  advanceState(OLD, { collectors: l.progress(), runUntil: UNTIL, completed: false, only: false }).entries.events;

describe('ledger: failures after a collection returned', () => {
  it('after it was recorded and accepted: the entry turns failed, the report says so, the advance stops before it', () => {
    const l = ledger();
    const ticket = new LateTicket();
    slice(l, 0, 1, ticket);
    slice(l, 1, 2);
    assert.equal(advance(l)?.toISOString(), day(2).toISOString(), 'before the failure: both slices advance');
    assert.equal(l.failLate(ticket, 'unhandled rejection: boom'), true);
    const [first, second] = l.report((id) => `t${id}.tar.gz`);
    assert.equal(first?.status, 'failed');
    assert.equal(first.error, 'failed after it returned: unhandled rejection: boom');
    assert.deepEqual(first.tarballs, ['t1.tar.gz'], 'its files stay where they went');
    assert.equal(second?.status, 'ok');
    assert.equal(l.anyFailed(), true);
    assert.equal(advance(l)?.toISOString(), day(0).toISOString(), 'the slice that failed, and those after it, hold the key');
  });

  it('before it was recorded: it is recorded as failed, whatever it returned', () => {
    const l = ledger();
    const ticket = new LateTicket();
    assert.equal(l.failLate(ticket, 'called process.exit(3)'), true);
    const entry = l.record(1, { since: day(0), until: UNTIL, status: 'ok', error: null }, true, ticket);
    assert.equal(entry.status, 'failed');
    assert.equal(entry.error, 'failed after it returned: called process.exit(3)');
    assert.equal(l.report(() => '')[0]?.status, 'failed');
    const next = advanceState(OLD, { collectors: l.progress(), runUntil: UNTIL, completed: true, only: false });
    assert.equal(next.entries.jobs?.toISOString(), day(0).toISOString());
  });

  it('a collection that failed already keeps its first error; a second late failure changes nothing', () => {
    const l = ledger();
    const ticket = new LateTicket();
    l.record(1, { since: day(0), until: UNTIL, status: 'failed', error: 'threw: first' }, true, ticket);
    l.failLate(ticket, 'one');
    l.failLate(ticket, 'two');
    assert.equal(l.report(() => '')[0]?.error, 'threw: first');

    const early = new LateTicket();
    l.failLate(early, 'first late');
    l.failLate(early, 'second late');
    assert.equal(l.record(0, { since: day(0), until: day(1), status: 'ok', error: null }, true, early).error, 'failed after it returned: first late');
  });

  it('once sealed (report and final state taken), a late failure changes neither', () => {
    const l = ledger();
    const ticket = new LateTicket();
    slice(l, 0, 1, ticket);
    const before = { report: l.report(String), state: advance(l) };
    l.seal();
    assert.equal(l.failLate(ticket, 'too late'), false);
    assert.equal(l.failCollectorLate(0, UNTIL, 'too late'), false);
    assert.deepEqual(l.report(String), before.report);
    assert.deepEqual(advance(l), before.state);
  });

  it('a slicer that fails late fails its collector from where it got to: slices after it do not advance', () => {
    const l = ledger();
    slice(l, 0, 1);
    assert.equal(l.failCollectorLate(0, UNTIL, 'unhandled rejection: slicer'), true);
    slice(l, 1, 2);
    const report = l.report(String);
    assert.deepEqual(
      report.map((c) => [c.status, c.since, c.until]),
      [
        ['ok', day(0).toISOString(), day(1).toISOString()],
        ['failed', day(1).toISOString(), UNTIL.toISOString()],
        ['ok', day(1).toISOString(), day(2).toISOString()],
      ],
    );
    assert.equal(report[1]?.error, 'failed after it returned: unhandled rejection: slicer');
    assert.equal(advance(l)?.toISOString(), day(1).toISOString(), 'the accepted slice before the failure still counts');
  });

  it('a slicer that fails late before any slice: the collector holds its old entry', () => {
    const l = ledger();
    l.failCollectorLate(0, UNTIL, 'boom');
    slice(l, 0, 1);
    l.finish(0, true, UNTIL);
    assert.equal(advance(l)?.toISOString(), day(0).toISOString());
  });
});

describe('ledger: late failures, property', () => {
  /** One step of a run: slice `n` of collector `c` recorded (accepted or not), or a late failure of one so far. */
  type Step =
    | { kind: 'slice'; collector: number; accepted: boolean }
    | { kind: 'late'; pick: number }
    | { kind: 'late-early'; collector: number; accepted: boolean }
    | { kind: 'seal' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('slice' as const), collector: fc.nat(2), accepted: fc.boolean() }),
    fc.record({ kind: fc.constant('late' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('late-early' as const), collector: fc.nat(2), accepted: fc.boolean() }),
    fc.constant({ kind: 'seal' as const }),
  );

  it('whenever a late failure arrives, the report and the advance agree, and no key moves past a failed collection', () => {
    // Collectors 0 and 1 share the key `events`, collector 2 has `other`; all sliced by day from day 0.
    const a = register({ key: 'events', version: '1.0', slicing: () => [] }, () => null);
    const b = register({ key: 'events', version: '1.0', slicing: () => [] }, () => null);
    const c = register({ key: 'other', version: '1.0', slicing: () => [] }, () => null);
    const old: State = { version: 1, lastGather: day(0), entries: { events: day(0), other: day(0) } };
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const l = new Ledger([a, b, c].map((collector) => ({ collector, start: day(0) })));
        const next = [0, 0, 0];
        const tickets: LateTicket[] = [];
        let id = 0;
        let sealed: { report: unknown; state: State } | null = null;
        const record = (collector: number, accepted: boolean, ticket = new LateTicket()): void => {
          const n = next[collector]!++;
          const entry = l.record(collector, { since: day(n), until: day(n + 1), status: 'ok', error: null }, true, ticket);
          l.placedIn(entry, ++id);
          if (accepted) l.accept(id);
          tickets.push(ticket);
        };
        const advanced = (): State => advanceState(old, { collectors: l.progress(), runUntil: day(40), completed: false, only: false });
        for (const s of steps) {
          // Sealed at the run's end: only failures of collector code can still arrive.
          if (sealed !== null && s.kind !== 'late') continue;
          if (s.kind === 'slice') record(s.collector, s.accepted);
          else if (s.kind === 'late' && tickets.length > 0) l.failLate(tickets[s.pick % tickets.length]!, 'late');
          else if (s.kind === 'late-early') {
            const ticket = new LateTicket();
            l.failLate(ticket, 'early');
            record(s.collector, s.accepted, ticket);
          } else if (s.kind === 'seal' && sealed === null) {
            sealed = { report: l.report(String), state: advanced() };
            l.seal();
          }
        }
        const report = l.report(String);
        const state = advanced();
        if (sealed !== null) {
          assert.deepEqual(report, sealed.report, 'nothing changes the report once sealed');
          assert.deepEqual(state, sealed.state, 'nothing changes the state once sealed');
        }
        const progress = l.progress().flatMap((p) => p.collections);
        for (const [i, collection] of report.entries()) {
          if (collection.status !== 'failed') continue;
          assert.equal(progress.find((p) => p.since.toISOString() === collection.since && !p.accepted) !== undefined, true);
          const entry = state.entries[collection.key]!;
          assert.ok(entry.getTime() <= Date.parse(collection.since), `${collection.key} moved past failed collection ${i}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
