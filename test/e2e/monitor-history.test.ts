/**
 * History and metrics through the real CLI (contract §9): a run cut short by SIGTERM and a run cut short by an
 * error inside a collector each leave their history line and metrics file, with the exit status the process
 * exited with; the `history` command shows them newest first; a planted secret is in neither file.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HistoryEntry } from '../../src/history/types.js';
import { cleanEnv, cli, makeProject, midnightDaysAgo, requireBuild, runCli, type Project } from '../helpers/fault-cli.js';
import { jsonSource, marker, throwingSource, waitingSource } from '../helpers/fault-collectors.js';
import { startIngress, type TestIngress } from '../helpers/ingress.js';
import { checkMetrics, hasPromtool } from '../helpers/promtool.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const SECRET = 'Idn-9q+Zr/planted=Secret';
const BOUND = { timeout: 30_000 };

let ingress: TestIngress;
const projects: Project[] = [];

before(async () => {
  requireBuild();
  ingress = await startIngress({ auth: { mode: 'identity', identity: SECRET } });
});
after(async () => {
  await ingress.close();
  await Promise.all(projects.map((p) => p.cleanup()));
});

async function project(extra: Record<string, unknown> = {}): Promise<Project> {
  const p = await makeProject({ ship: { url: ingress.url, contentType: CONTENT_TYPE, auth: 'identity', retries: 0 }, ...extra });
  projects.push(p);
  return p;
}

const env = (): NodeJS.ProcessEnv => cleanEnv({ ANALYTICS_IDENTITY: SECRET });

async function historyOf(p: Project): Promise<HistoryEntry[]> {
  const text = await readFile(join(p.dir, 'state', 'history.jsonl'), 'utf8');
  return text.trimEnd().split('\n').map((line) => JSON.parse(line) as HistoryEntry);
}

/** The secret in none of its forms. */
function assertNoSecret(text: string, where: string): void {
  for (const form of [SECRET, encodeURIComponent(SECRET), Buffer.from(SECRET).toString('base64')]) {
    assert.ok(!text.includes(form), `${where} holds the secret (${form})`);
  }
}

describe('history and metrics through the CLI', { concurrency: 2 }, () => {
  it('a gather --ship stopped by SIGTERM: history line and metrics (config metricsFile) with exit 143', BOUND, async () => {
    const p = await project({ metricsFile: './metrics/analytics.prom' });
    await p.collector('ok.mjs', jsonSource('good', { n: 1 }));
    await p.collector('wait.mjs', waitingSource('slow', 'slow-running'));
    const run = runCli(['gather', '--ship', '--until', midnightDaysAgo(0)], { cwd: p.dir, env: env() });
    await run.waitForStderr(marker('slow-running'));
    run.child.kill('SIGTERM');
    const { code, stderr } = await run.exit;
    assert.equal(code, 143, stderr);

    const [entry, ...rest] = await historyOf(p);
    assert.equal(rest.length, 0);
    assert.equal(entry!.command, 'gather');
    assert.equal(entry!.mode, 'ship');
    assert.equal(entry!.exitCode, 143);
    assert.equal(entry!.pid, run.child.pid);
    assert.ok(entry!.errors.includes('stopped by SIGTERM'), JSON.stringify(entry!.errors));
    assert.equal((await stat(join(p.dir, 'state', 'history.jsonl'))).mode & 0o777, 0o600);

    const metricsFile = join(p.dir, 'metrics', 'analytics.prom');
    const metrics = await readFile(metricsFile, 'utf8');
    assert.match(metrics, /^analytics_collect_last_run_exit_code\{command="gather",mode="ship"\} 143$/m);
    assert.match(metrics, /^# TYPE analytics_collect_last_success_timestamp_seconds gauge$/m);
    assert.doesNotMatch(metrics, /^analytics_collect_last_success_timestamp_seconds/m, 'no success yet');
    assert.equal((await stat(metricsFile)).mode & 0o777, 0o644);
    if (hasPromtool) {
      const check = checkMetrics(metrics);
      assert.equal(check.status, 0, check.output);
    }
  });

  it('a collector error: exit 1 recorded, the secret it printed in neither file; the success survives in the metrics', BOUND, async () => {
    const p = await project();
    await p.collector('ok.mjs', jsonSource('good', { n: 1 }));
    const first = await cli(['gather', '--ship', '--json', '--metrics-file', 'metrics/analytics.prom'], { cwd: p.dir, env: env() });
    assert.equal(first.code, 0, first.stderr);
    await p.collector('bad.mjs', throwingSource('bad', `cannot log in with ${SECRET} (${encodeURIComponent(SECRET)})`));
    const second = await cli(['gather', '--ship', '--json', '--metrics-file', 'metrics/analytics.prom'], { cwd: p.dir, env: env() });
    assert.equal(second.code, 1, second.stderr);

    const history = await historyOf(p);
    assert.deepEqual(history.map((e) => e.exitCode), [0, 1]);
    const failed = history[1]!;
    assert.deepEqual(failed.collections, { ok: 1, failed: 1, empty: 0 });
    assert.equal(failed.tarballs.shipped, 1);
    assert.equal(failed.requestIds.length, 1);
    assert.match(failed.errors.join('\n'), /^bad: cannot log in with /m);
    const historyText = await readFile(join(p.dir, 'state', 'history.jsonl'), 'utf8');
    assertNoSecret(historyText, 'the history');

    const metrics = await readFile(join(p.dir, 'metrics', 'analytics.prom'), 'utf8');
    assertNoSecret(metrics, 'the metrics file');
    const success = Date.parse(history[0]!.finishedAt) / 1000;
    assert.match(metrics, new RegExp(`^analytics_collect_last_success_timestamp_seconds\\{command="gather",mode="ship"\\} ${success}$`, 'm'));
    assert.match(metrics, /^analytics_collect_last_run_exit_code\{command="gather",mode="ship"\} 1$/m);
    assert.match(metrics, /^analytics_collect_collections\{status="failed"\} 1$/m);
    assert.match(metrics, /^analytics_collect_key_lag_seconds\{key="good"\} [\d.]+$/m);
    assert.match(metrics, /^analytics_collect_collector_duration_seconds\{collector="bad"\} [\d.e-]+$/m);
    if (hasPromtool) {
      const check = checkMetrics(metrics);
      assert.equal(check.status, 0, check.output);
    }

    // `history`: newest first, readable; --json; --limit.
    const table = await cli(['history'], { cwd: p.dir, env: env() });
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^started \(UTC\)\s+command\s+window \(UTC\)\s+exit\s+collections ok\/failed\/empty\s+tarballs written\/shipped\/failed\s+bytes\s+duration/);
    assert.match(lines[1]!, /gather --ship .* 1 failed\s+1\/1\/0\s+1\/1\/0 /);
    assert.match(lines[2]!, /gather --ship .* 0 ok\s+1\/0\/0\s+1\/1\/0 /);
    const json = await cli(['history', '--json', '--limit', '1'], { cwd: p.dir, env: env() });
    assert.deepEqual((JSON.parse(json.stdout) as HistoryEntry[]).map((e) => e.id), [failed.id]);
    const bad = await cli(['history', '--limit', '0'], { cwd: p.dir, env: env() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit: "0" is not a whole number of at least 1/);
  });

  it('a run ending in a usage error after the configuration was read is recorded (exit 2)', BOUND, async () => {
    const p = await project();
    const run = await cli(['gather', '--only', 'nope'], { cwd: p.dir, env: env() });
    assert.equal(run.code, 2);
    const [entry] = await historyOf(p);
    assert.equal(entry!.exitCode, 2);
    assert.equal(entry!.mode, 'dry-run');
    assert.match(entry!.errors[0]!, /--only: unknown key nope/);
  });

  it('state set and state reset add their entries (mode null), a refused one too', BOUND, async () => {
    const p = await project();
    await p.collector('ok.mjs', jsonSource('good', { n: 1 }));
    assert.equal((await cli(['state', 'set', 'good', '2026-11-20'], { cwd: p.dir, env: env() })).code, 0);
    assert.equal((await cli(['state', 'reset', 'good'], { cwd: p.dir, env: env() })).code, 0);
    assert.equal((await cli(['state', 'set', 'nokey', '2026-11-20'], { cwd: p.dir, env: env() })).code, 2);
    const history = await historyOf(p);
    assert.deepEqual(
      history.map((e) => [e.command, e.mode, e.exitCode]),
      [['state set', null, 0], ['state reset', null, 0], ['state set', null, 2]],
    );
    const table = await cli(['history'], { cwd: p.dir, env: env() });
    assert.match(table.stdout.split('\n')[1]!, /state set\s+-\s+2 usage\s+-\s+-\s+-/);
  });
});
