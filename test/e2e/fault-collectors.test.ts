/**
 * Collector faults seen from the command line: a failing collector is exit 1 with its key and reason on
 * stderr while the others are still packed; a collector that ignores its signal and keeps the event loop busy
 * (a timer, a socket) must not keep the process alive once the run is over — after its timeout, or after
 * SIGTERM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cli, exitWithin, listTree, runCli } from '../helpers/fault-cli.js';
import { jsonSource, marker, throwingSource } from '../helpers/fault-collectors.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const fixtures = cliFixtures();
const { project } = fixtures;

/** Never settles, ignores its signal, and holds a timer so the event loop stays alive. */
const stubbornSource = (key: string): string => `import { register } from 'analytics-collect';
export const c = register({ key: ${JSON.stringify(key)}, version: '1.0' }, (ctx) => new Promise(() => {
  setInterval(() => {}, 60_000);
  ctx.logger.warn(${JSON.stringify(marker(key))});
}));
`;

/** How long a finished run may take to leave: far more than it needs, far less than a hang. */
const DEADLINE_MS = 4000;

describe('collector faults through the CLI', { concurrency: 3 }, () => {
  it('a collector that throws: exit 1, its key and reason on stderr, the others packed', async () => {
    const p = await project();
    await p.collector('a.mjs', jsonSource('alpha', { ok: true }));
    await p.collector('b.mjs', throwingSource('broken', 'database unreachable'));
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /broken/);
    assert.match(run.stderr, /database unreachable/);
    const [path] = run.stdout.trim().split('\n');
    const tarball = await readTarball(path!);
    assert.ok(tarball.members.some((m) => m.name === 'alpha.json'));
    const status = (await tarball.read('data_collection_status.csv')).toString();
    assert.match(status, /broken\.json,failed/);
    assert.deepEqual(await listTree(p.tmp), []);
  });

  it(
    'a collector that never finishes and ignores its signal: after collectorTimeoutMs the run ends and the process exits 1',
    async () => {
      const p = await project({ collectorTimeoutMs: 300 });
      await p.collector('a.mjs', jsonSource('alpha', { ok: true }));
      await p.collector('s.mjs', stubbornSource('stubborn'));
      const run = runCli(['gather'], { cwd: p.dir });
      const result = await exitWithin(run, DEADLINE_MS);
      assert.ok(result, `the process was still running ${DEADLINE_MS} ms later; stderr:\n${run.stderr()}`);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /stubborn.*timed out after 300 ms/);
      assert.equal(result.stdout.trim().split('\n').length, 1, 'the tarball of the others is written');
      assert.deepEqual(await listTree(p.tmp), []);
    },
  );

  it(
    'SIGTERM while a collector ignores its signal: the process still exits 143 within seconds',
    async () => {
      const p = await project();
      await p.collector('s.mjs', stubbornSource('stubborn'));
      const run = runCli(['gather'], { cwd: p.dir });
      await run.waitForStderr(marker('stubborn'));
      run.child.kill('SIGTERM');
      const result = await exitWithin(run, DEADLINE_MS);
      assert.ok(result, `the process was still running ${DEADLINE_MS} ms after SIGTERM; stderr:\n${run.stderr()}`);
      assert.equal(result.code, 143);
      assert.deepEqual(await listTree(p.tmp), []);
      assert.ok(!(await listTree(p.dir)).some((f) => f.endsWith('.lock')), 'the lock is released');
    },
  );
});
