/**
 * `status` through the real CLI (contract §9): exit 1 for each unhealthy reason, 0 when healthy; the lock holder,
 * failed/ tarballs and key lags shown; the lock never taken.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HistoryEntry } from '../../src/history/types.js';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { sampleEntry } from '../helpers/history.js';

const HOUR = 3_600_000;
const projects: Project[] = [];
after(() => Promise.all(projects.map((p) => p.cleanup())));

const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

/** A ship run that finished `hoursAgo` hours ago with `exitCode`. */
const shipRun = (hoursAgo: number, exitCode: number, id = `r${hoursAgo}-${exitCode}`): HistoryEntry =>
  sampleEntry({ id, command: 'gather', mode: 'ship', exitCode, startedAt: ago(hoursAgo * HOUR + 5000), finishedAt: ago(hoursAgo * HOUR) });

/** A project with this history (oldest first, as in the file) and these key positions (hours ago). */
async function project(history: HistoryEntry[], lags: Record<string, number>): Promise<Project> {
  requireBuild();
  const p = await makeProject();
  projects.push(p);
  await p.writeState({ lastGather: ago(HOUR), entries: Object.fromEntries(Object.entries(lags).map(([k, h]) => [k, ago(h * HOUR)])) });
  await writeFile(join(p.dir, 'state', 'history.jsonl'), history.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  return p;
}

const status = (p: Project, ...args: string[]) => cli(['status', ...args], { cwd: p.dir, env: cleanEnv() });

describe('status through the CLI', { concurrency: 3 }, () => {
  it('healthy: the last ship run exited 0 within --max-age, every key within it; exit 0', async () => {
    const p = await project([shipRun(30, 1), shipRun(2, 0), sampleEntry({ command: 'gather', mode: 'dry-run', exitCode: 1, finishedAt: ago(HOUR) })], { jobs: 3, jobs_full: 100 });
    const run = await status(p, '--max-age', '26h');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^healthy \(max age 26h\)$/m);
    assert.match(run.stdout, /^last run:\s+gather \(dry run\)/m);
    assert.match(run.stdout, /^last ship run:\s+gather --ship, started .* exit 0 \(ok\)/m);
    assert.match(run.stdout, /^jobs\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+3h$/m);
    assert.doesNotMatch(run.stdout, /jobs_full/, 'full-sync markers are not positions');
    const json = JSON.parse((await status(p, '--max-age', '26h', '--json')).stdout) as { healthy: boolean; reasons: string[]; keys: { key: string }[] };
    assert.equal(json.healthy, true);
    assert.deepEqual(json.reasons, []);
    assert.deepEqual(json.keys.map((k) => k.key), ['jobs']);
  });

  it('the last ship run exited 143: unhealthy even without --max-age; the ship command does not count', async () => {
    const p = await project([shipRun(3, 0), shipRun(2, 143), sampleEntry({ command: 'ship', mode: 'ship', exitCode: 0, finishedAt: ago(HOUR) })], { jobs: 1 });
    const run = await status(p);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^UNHEALTHY:\n {2}- the last ship run \(gather --ship, started .*\) exited 143 \(stopped by SIGTERM\)$/m);
  });

  it('--max-age: no successful ship run within it (the last one 30 h ago, or none at all)', async () => {
    const old = await project([shipRun(30, 0)], { jobs: 1 });
    const run = await status(old, '--max-age', '26h');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /no gather --ship succeeded within 26h: the last success finished .*, 30h ago/);
    assert.equal((await status(old, '--max-age', '2d')).code, 0, 'within 2 days it is healthy');
    const none = await project([], {});
    const empty = await status(none, '--max-age', '90m');
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /no gather --ship succeeded within 90m: none is in the history/);
    assert.equal((await status(none)).code, 0, 'without --max-age an empty history is not unhealthy');
  });

  it('--max-age: a key lagging more than it', async () => {
    const p = await project([shipRun(1, 0)], { jobs: 2, events: 72 });
    const run = await status(p, '--max-age', '2d');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /key events lags 3d behind now, more than 2d/);
    assert.doesNotMatch(run.stdout, /key jobs lags/);
  });

  it('shows the lock holder without taking the lock, and the tarballs waiting in failed/', async () => {
    const p = await project([shipRun(1, 0)], { jobs: 1 });
    const lock = JSON.stringify({ pid: process.pid, host: 'node-7', since: '2026-11-30T01:00:00.000Z' });
    await writeFile(p.lockFile, lock, { mode: 0o600 });
    await mkdir(join(p.output, 'failed'), { recursive: true });
    await writeFile(join(p.output, 'failed', 'analytics-x-0.tar.gz'), Buffer.alloc(2048));
    const run = await status(p);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^lock:\\s+held by pid ${process.pid} on node-7 since 2026-11-30T01:00:00.000Z`, 'm'));
    assert.match(run.stdout, /^tarballs in failed\/:\s+1 \(2\.0 KiB\); retry with: analytics-collect ship .*analytics-x-0\.tar\.gz$/m);
    assert.equal(await readFile(p.lockFile, 'utf8'), lock, 'the lock is untouched');
  });

  it('a duration that is not one: exit 2 naming the flag', async () => {
    const p = await project([], {});
    const run = await status(p, '--max-age', '26 hours');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--max-age: "26 hours" is not a duration; give a number and a unit: 90m, 26h or 7d/);
  });
});
