import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  applyEvent,
  formatElapsed,
  formatProgress,
  formatWindow,
  initialProgress,
  ProgressDisplay,
  type PlannedCollector,
  type ProgressState,
} from '../../src/cli/progress.js';
import { CLEAR_LINE, createOutput } from '../../src/cli/output.js';
import type { GatherEvent } from '../../src/gather.js';

const PLAN: PlannedCollector[] = [
  { key: 'host', sliced: false },
  { key: 'skipped', sliced: false },
  { key: 'events', sliced: true },
];
const T0 = Date.parse('2026-11-28T00:00:00Z');
const day = (n: number): Date => new Date(Date.parse('2026-11-01T00:00:00Z') + n * 86_400_000);
const ESC = '\u001b[';

function fold(events: GatherEvent[], plan = PLAN, mode: 'dry-run' | 'ship' = 'dry-run'): ProgressState {
  return events.reduce(applyEvent, initialProgress(plan, mode, T0));
}

const start = (key: string, since = day(0), until = day(1)): GatherEvent => ({ type: 'collection-start', key, since, until });
const end = (key: string, status: 'ok' | 'failed' | 'empty', bytes = 0): GatherEvent => ({ type: 'collection-end', key, status, bytes });

describe('applyEvent', () => {
  it('follows the plan: config first (not counted), a skipped collector jumped over, slices counted', () => {
    let state = fold([start('config')]);
    assert.equal(state.started, 0);
    assert.deepEqual(state.running.map((r) => r.key), ['config']);
    state = fold([start('config'), end('config', 'ok', 50), start('host')]);
    assert.equal(state.started, 1);
    assert.equal(state.bytes, 0, 'the config collector is not counted');
    state = fold([start('config'), end('config', 'ok'), start('host'), end('host', 'ok', 100), start('events'), end('events', 'ok', 1000), start('events', day(1), day(2))]);
    assert.equal(state.started, 2, '"skipped" was never called, and a second slice is the same collector');
    assert.deepEqual(state.running, [{ key: 'events', since: day(1), until: day(2), slice: 2 }]);
    assert.equal(state.bytes, 1100);
    assert.equal(state.ok, 2);
  });

  it('tracks every collection running at once (concurrency)', () => {
    const state = fold([start('host'), start('events'), start('skipped'), end('host', 'ok', 10)]);
    assert.deepEqual(state.running.map((r) => [r.key, r.slice]), [['events', 1], ['skipped', 0]]);
    assert.equal(state.started, 3);
  });

  it('counts outcomes, tarballs and uploads', () => {
    const state = fold(
      [
        start('host'),
        end('host', 'failed'),
        start('events'),
        end('events', 'empty'),
        { type: 'tarball-written', path: '/o/a-0.tar.gz', bytes: 10 },
        { type: 'tarball-written', path: '/o/a-1.tar.gz', bytes: 10 },
        { type: 'tarball-shipped', path: '/o/a-0.tar.gz', ok: true, requestId: 'r1' },
        { type: 'tarball-shipped', path: '/o/a-1.tar.gz', ok: false, error: '503' },
      ],
      PLAN,
      'ship',
    );
    assert.deepEqual([state.ok, state.empty, state.failed, state.written, state.shipped, state.uploadFailed], [0, 1, 1, 2, 1, 1]);
  });

  it('does not change the state it is given', () => {
    const before = initialProgress(PLAN, 'dry-run', T0);
    const copy = structuredClone(before);
    applyEvent(before, start('host'));
    assert.deepEqual(before, copy);
  });
});

const written = (n: number): GatherEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'tarball-written', path: `t${i}`, bytes: 1 }));
const shipped = (n: number): GatherEvent[] => Array.from({ length: n }, (_, i) => ({ type: 'tarball-shipped', path: `t${i}`, ok: true }));

describe('formatProgress', () => {
  it('shows elapsed time, the collector and slice, its window, bytes and tarballs', () => {
    const state = fold([start('host'), end('host', 'ok', 2048), start('events', day(2), day(3)), { type: 'tarball-written', path: 'x', bytes: 1 }]);
    const line = formatProgress(state, T0 + 3_200, 200, false);
    assert.match(line, /^. 0:03 {2}\[2\/3\] events slice 1 2026-11-03 → 2026-11-04 · 1 collection, 2\.0 KiB · 1 tarball written$/);
    assert.ok(!line.includes(ESC), 'no colours when not asked');
  });

  it('names every collector running at once', () => {
    const state = fold([start('host'), start('events', day(2), day(3)), start('skipped')]);
    const line = formatProgress(state, T0, 200, false);
    assert.match(line, /\[3\/3\] host, events slice 1, skipped$/);
  });

  it('says what is left after the last collector, and what is pending in a ship run', () => {
    const plan = [{ key: 'host', sliced: false }];
    const state = fold([start('host'), end('host', 'ok', 1), { type: 'tarball-written', path: 'x', bytes: 1 }, { type: 'tarball-written', path: 'y', bytes: 1 }], plan, 'ship');
    const line = formatProgress(state, T0, 200, false);
    assert.match(line, /writing and uploading tarballs… · 1 collection, 1 B · 2 tarballs written, 0 shipped, 2 to upload$/);
  });

  it('colours when asked, failures in red', () => {
    const state = fold([start('host'), end('host', 'failed')]);
    const line = formatProgress(state, T0, 200, true);
    assert.ok(line.includes(`${ESC}31m, 1 failed`), line);
    const running = formatProgress(fold([start('host')]), T0, 200, true);
    assert.ok(running.includes(`${ESC}36mhost`), running);
  });

  it('on an 80-column terminal keeps written, shipped and to-upload counts and every running collector, dropping detail first', () => {
    const keys = ['hosts', 'events', 'jobs'];
    const plan = keys.map((key) => ({ key, sliced: key !== 'hosts' }));
    const events: GatherEvent[] = [
      ...keys.map((k) => start(k, day(2), day(3))),
      end('hosts', 'failed', 0),
      start('hosts'),
      ...written(12),
      ...shipped(9),
    ];
    const state = fold(events, plan, 'ship');
    const line = formatProgress(state, T0 + 65_000, 80, false);
    assert.ok([...line].length <= 79, line);
    assert.match(line, /12 written, 9 shipped, 3 to upload/);
    assert.match(line, /1 failed/);
    for (const key of keys) assert.ok(line.includes(key), `${key} in ${line}`);
    assert.ok(!line.includes('2026-11-03'), 'the window went first');
    assert.ok(!line.includes('KiB') && !line.includes(' B '), 'then the bytes');
  });

  it('on a very narrow terminal the running collectors shrink to "name +N" before the counts are cut', () => {
    const keys = ['hosts_inventory', 'job_events', 'unified_jobs'];
    const state = fold([...keys.map((k) => start(k)), ...written(12), ...shipped(9)], keys.map((key) => ({ key, sliced: false })), 'ship');
    const line = formatProgress(state, T0, 70, false);
    assert.ok([...line].length <= 69, line);
    assert.match(line, /hosts_inventory \+2 · 12 written, 9 shipped, 3 to upload$/);
    assert.match(formatProgress(state, T0, 60, false), / {2}3 running · 12 written, 9 shipped, 3 to upload$/);
    const tiny = formatProgress(state, T0, 25, true);
    assert.ok([...tiny.replace(/\u001b\[\d+m/g, '')].length <= 24, tiny);
    assert.ok(tiny.includes('…'));
  });

  it('fits the terminal: drops the window first', () => {
    const state = fold([start('host'), end('host', 'ok', 1), start('events', day(2), day(3))]);
    const full = formatProgress(state, T0, 500, false);
    const narrow = formatProgress(state, T0, 60, false);
    assert.ok(full.includes('2026-11-03'));
    assert.ok(!narrow.includes('2026-11-03'), narrow);
    assert.ok([...narrow].length <= 59, narrow);
  });
});

describe('progress helpers', () => {
  it('formats elapsed time as m:ss or h:mm:ss', () => {
    assert.equal(formatElapsed(0), '0:00');
    assert.equal(formatElapsed(65_000), '1:05');
    assert.equal(formatElapsed(3_723_000), '1:02:03');
  });

  it('formats windows compactly, in UTC', () => {
    assert.equal(formatWindow(day(0), day(1)), '2026-11-01 → 2026-11-02');
    assert.equal(formatWindow(day(0), new Date('2026-11-01T13:45:10Z')), '2026-11-01 00:00 → 2026-11-01 13:45 UTC');
  });
});

describe('ProgressDisplay', () => {
  function terminal(): { out: ReturnType<typeof createOutput>; text: () => string } {
    let written = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    return { out: createOutput({ stdout: stream, stderr: stream, interactive: true, columns: 120 }), text: () => written };
  }

  it('draws on start and on events, keeps log lines off the status line, and erases itself on stop', () => {
    const { out, text } = terminal();
    let now = T0;
    const display = new ProgressDisplay(out, { plan: PLAN, mode: 'dry-run', color: false, now: () => now, intervalMs: 3_600_000 });
    display.start();
    assert.equal(text(), `${CLEAR_LINE}⠋ 0:00  starting…`);
    now += 1_000;
    display.onEvent(start('host'));
    out.log('a log line');
    display.stop();
    const expected =
      `${CLEAR_LINE}⠋ 0:00  starting…` +
      `${CLEAR_LINE}⠋ 0:01  [1/3] host 2026-11-01 → 2026-11-02` +
      `${CLEAR_LINE}a log line\n⠋ 0:01  [1/3] host 2026-11-01 → 2026-11-02` +
      CLEAR_LINE;
    assert.equal(text(), expected);
  });

  it('redraws at most every 50 ms for events', () => {
    const { out, text } = terminal();
    let now = T0;
    const display = new ProgressDisplay(out, { plan: PLAN, mode: 'dry-run', color: false, now: () => now, intervalMs: 3_600_000 });
    display.start();
    now += 10;
    display.onEvent(start('host'));
    assert.equal(text().split(CLEAR_LINE).length - 1, 1, 'the event 10 ms later waits for the next tick');
    display.stop();
  });

  it('shows nothing when the output is not a terminal', () => {
    let written = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const out = createOutput({ stdout: stream, stderr: stream, interactive: false });
    const display = new ProgressDisplay(out, { plan: PLAN, mode: 'dry-run', color: false });
    display.start();
    display.onEvent(start('host'));
    display.stop();
    assert.equal(written, '');
  });
});
