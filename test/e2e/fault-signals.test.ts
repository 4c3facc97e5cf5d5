/**
 * SIGINT and SIGTERM at each stage of a real `gather --ship` — while a collector runs, while a tarball is
 * written, while one is uploaded, while an upload waits to be retried. The process must stop within seconds
 * (the test timeout is the bound), exit 130/143, remove its temporary files, leave no partial tarball under any
 * name, keep in the state what was accepted before the signal and nothing of what was interrupted, and release
 * the lock.
 *
 * The signal is sent on a readiness event, never after a sleep: a collector's marker on stderr, the CLI's own
 * "shipped" and "retry" log lines, a `.partial` file appearing in the output directory, a request reaching the
 * ingress.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { finished } from 'node:stream/promises';
import { startIngress, type TestIngress } from '../helpers/ingress.js';
import {
  cleanEnv,
  listTree,
  makeProject,
  midnightDaysAgo,
  requireBuild,
  runCli,
  whenEntryAppears,
  type CliRun,
  type Project,
} from '../helpers/fault-cli.js';
import { linkedCsvSource, marker, slicedSource } from '../helpers/fault-collectors.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const DAY = 86_400_000;
const UNTIL = midnightDaysAgo(0);
const SLICE0_UNTIL = new Date(Date.parse(UNTIL) - DAY).toISOString();
const BEFORE = midnightDaysAgo(3);
const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
/** "Within a few seconds": generous for a loaded machine, far below a hang. */
const BOUND = { timeout: 20_000 };

let bigDir: string;
let bigFile: string;
const projects: Project[] = [];
const ingresses: TestIngress[] = [];

before(async () => {
  requireBuild();
  // A CSV big enough that gzip level 9 takes around a second: the signal lands mid-write. It lives under the
  // system temp directory, like the projects, so collectors can hard-link it into their outputDir.
  bigDir = await mkdtemp(join(tmpdir(), 'ac-fault-big-'));
  bigFile = join(bigDir, 'big.csv');
  const out = createWriteStream(bigFile);
  for (let i = 0; i < 64; i++) {
    if (!out.write(`${randomBytes(512 * 1024).toString('hex')}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
});
after(async () => {
  await Promise.all(ingresses.map((i) => i.close()));
  await Promise.all(projects.map((p) => p.cleanup()));
  await rm(bigDir, { recursive: true, force: true });
});

async function setup(extra: Record<string, unknown> = {}): Promise<{ p: Project; ing: TestIngress }> {
  const ing = await startIngress();
  ingresses.push(ing);
  const p = await makeProject({ ship: { url: ing.url, contentType: CONTENT_TYPE, retries: 0 }, ...extra });
  projects.push(p);
  await p.writeState({ lastGather: BEFORE, entries: { ev: BEFORE, big: BEFORE } });
  return { p, ing };
}

const gather = (p: Project): CliRun => runCli(['gather', '--ship', '--until', UNTIL], { cwd: p.dir, env: cleanEnv() });

/** What every interrupted run must leave: its exit status, no temporary file, no partial tarball, no lock. */
async function assertStoppedCleanly(p: Project, run: CliRun, signal: keyof typeof EXIT): Promise<void> {
  const { code, stderr } = await run.exit;
  assert.equal(code, EXIT[signal], stderr);
  assert.match(stderr, new RegExp(`${signal} received`));
  assert.deepEqual(await listTree(p.tmp), [], 'tmpDir is empty');
  const out = await listTree(p.output);
  assert.deepEqual(out.filter((f) => /partial|\.tmp$/.test(f)), [], `no partial file in the output: ${out.join(', ')}`);
  const all = await listTree(p.dir);
  assert.ok(!all.some((f) => f.endsWith('.lock') || f.endsWith('.takeover')), `the lock is released: ${all.join(', ')}`);
  assert.ok(!all.some((f) => /state\/\..*\.tmp$/.test(f)), 'no temporary state file');
}

describe('signals through the CLI', { concurrency: 2 }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while a collector runs: the slice accepted before it stays, the running one does not`, BOUND, async () => {
      const { p, ing } = await setup();
      await p.collector('ev.mjs', slicedSource('ev', 2, 1, 'ev-waiting'));
      const run = gather(p);
      await run.waitForStderr(marker('ev-waiting'));
      await run.waitForStderr(/shipped analytics-/); // slice 0 accepted by the ingress
      run.child.kill(signal);
      await assertStoppedCleanly(p, run, signal);
      assert.equal(ing.requests.length, 1);
      const state = await p.readState();
      assert.equal(state?.entries.ev, SLICE0_UNTIL, 'entries.ev moves past the accepted slice only');
      assert.equal(state?.lastGather, BEFORE, 'an interrupted run does not move lastGather');
    });

    it(`${signal} while a tarball is written: no tarball under any name, the state untouched`, BOUND, async () => {
      const { p, ing } = await setup({ gzipLevel: 9 });
      await p.collector('big.mjs', linkedCsvSource('big', bigFile));
      await mkdir(p.output, { recursive: true, mode: 0o700 });
      const partial = whenEntryAppears(p.output, (name) => name.endsWith('.partial'));
      const run = gather(p);
      void run.exit.then(() => partial.stop());
      await partial.appeared;
      run.child.kill(signal);
      await assertStoppedCleanly(p, run, signal);
      assert.deepEqual(await listTree(p.output), [], 'no tarball was published, not even to failed/');
      assert.equal(ing.requests.length, 0);
      assert.deepEqual(await p.readState(), { version: 1, lastGather: BEFORE, entries: { big: BEFORE, ev: BEFORE } });
    });

    it(`${signal} while uploading: the accepted tarball counts, the interrupted one goes to failed/`, BOUND, async () => {
      const { p, ing } = await setup();
      await p.collector('ev.mjs', slicedSource('ev', 2));
      const run = gather(p);
      await ing.nextRequest(); // slice 0: answered normally
      ing.misbehave('hang'); // slice 1: never answered
      await ing.nextRequest();
      run.child.kill(signal);
      await assertStoppedCleanly(p, run, signal);
      assert.equal(ing.requests.length, 2);
      assert.equal(ing.requests[0]!.status, 202);
      const failed = await readdir(join(p.output, 'failed'));
      assert.equal(failed.length, 1, 'the interrupted tarball is kept in failed/');
      const state = await p.readState();
      assert.equal(state?.entries.ev, SLICE0_UNTIL, 'the accepted slice counts, the interrupted one does not');
      assert.equal(state?.lastGather, BEFORE);
    });

    it(`${signal} while waiting to retry an upload (Retry-After: 60): stops at once, the tarball goes to failed/`, BOUND, async () => {
      const { p, ing } = await setup();
      await p.configure({ ship: { url: ing.url, contentType: CONTENT_TYPE, retries: 2 } });
      await p.collector('ev.mjs', slicedSource('ev', 1));
      ing.misbehave({ status: 503, retryAfter: '60' });
      const run = gather(p);
      await run.waitForStderr(/retry 1 of 2 in 60\.0 s/);
      run.child.kill(signal);
      await assertStoppedCleanly(p, run, signal);
      assert.equal(ing.requests.length, 1, 'no retry after the signal');
      assert.equal((await readdir(join(p.output, 'failed'))).length, 1);
      assert.deepEqual((await p.readState())?.entries.ev, BEFORE, 'nothing accepted: the key stays');
    });
  }
});
