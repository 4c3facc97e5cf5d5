import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsText } from '../../src/metrics/build.js';
import { sampleEntry } from '../helpers/history.js';
import { checkMetrics, hasPromtool } from '../helpers/promtool.js';

const NAMES = [
  'last_run_timestamp_seconds',
  'last_run_exit_code',
  'last_run_duration_seconds',
  'last_success_timestamp_seconds',
  'collections',
  'tarballs',
  'bytes',
  'collector_duration_seconds',
  'key_lag_seconds',
  'info',
].map((n) => `analytics_collect_${n}`);

const now = new Date('2026-11-28T02:00:00Z');

describe('metricsText', () => {
  it('every metric of §9 has HELP and TYPE, even with no sample', async () => {
    const current = sampleEntry({ exitCode: 2 });
    const text = await metricsText({ history: [current], current, bytes: { written: 0, shipped: 0 }, collectorSeconds: new Map(), positions: new Map(), now, version: '1.2.3' });
    for (const name of NAMES) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'), name);
    }
    assert.doesNotMatch(text, /^analytics_collect_key_lag_seconds/m);
    assert.match(text, /^analytics_collect_info\{version="1\.2\.3"\} 1$/m);
    if (hasPromtool) assert.equal(checkMetrics(text).status, 0, checkMetrics(text).output);
  });

  it('the last run and the last success per command and mode, from the history; lag per key', async () => {
    const history = [
      sampleEntry({ id: 'c', command: 'gather', mode: 'ship', exitCode: 143, startedAt: '2026-11-28T01:00:00.000Z', finishedAt: '2026-11-28T01:00:10.000Z' }),
      sampleEntry({ id: 'b', command: 'gather', mode: 'dry-run', exitCode: 0, finishedAt: '2026-11-27T12:00:00.000Z' }),
      sampleEntry({ id: 's', command: 'state set', mode: null, exitCode: 0 }),
      sampleEntry({ id: 'a', command: 'gather', mode: 'ship', exitCode: 0, finishedAt: '2026-11-27T01:00:00.000Z' }),
      sampleEntry({ id: 'z', command: 'gather', mode: 'ship', exitCode: 0, finishedAt: '2026-11-26T01:00:00.000Z' }),
    ];
    const text = await metricsText({
      history,
      current: history[0]!,
      bytes: { written: 10, shipped: 4 },
      collectorSeconds: new Map([['jobs "x"', 1.5]]),
      positions: new Map([['jobs', new Date('2026-11-26T02:00:00Z')]]),
      now,
      version: '1',
    });
    const value = (line: string): void => assert.ok(text.split('\n').includes(line), `${line}\n---\n${text}`);
    value('analytics_collect_last_run_exit_code{command="gather",mode="ship"} 143');
    value('analytics_collect_last_run_duration_seconds{command="gather",mode="ship"} 10');
    value(`analytics_collect_last_success_timestamp_seconds{command="gather",mode="ship"} ${Date.parse('2026-11-27T01:00:00Z') / 1000}`);
    value('analytics_collect_last_run_exit_code{command="gather",mode="dry-run"} 0');
    value('analytics_collect_key_lag_seconds{key="jobs"} 172800');
    value('analytics_collect_bytes{kind="shipped"} 4');
    value('analytics_collect_collector_duration_seconds{collector="jobs \\"x\\""} 1.5');
    assert.doesNotMatch(text, /state set/);
    if (hasPromtool) assert.equal(checkMetrics(text).status, 0, checkMetrics(text).output);
  });
});
