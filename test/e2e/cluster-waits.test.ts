/**
 * §8: every wait on the database is bounded by coordination.timeoutMs, the first SIGTERM abandons a wait at
 * once, and the cluster lock is released either way. Through the real CLI, against the local PostgreSQL: an
 * operator's forgotten transaction (`SELECT … FOR UPDATE`), a `LOCK TABLE`, and a network path that stalls (a
 * proxy written here that stops forwarding on the INSERT, on pg_try_advisory_lock, on pg_advisory_unlock).
 * Deadlines below only catch a hang (the run is killed then); nothing measures speed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clusterProject, holdingClient, type ClusterProject } from '../helpers/cluster.js';
import { exitWithin, requireBuild, runCli } from '../helpers/fault-cli.js';
import { pgSkipReason } from '../helpers/pg.js';
import { startPgProxy, type PgProxy } from '../helpers/pg-proxy.js';

const skip = await pgSkipReason();
const TIMEOUT_MS = 1500;
/** Far longer than any bounded wait here: reaching it means the run hung. */
const HANG = 30_000;

describe('bounded database waits (real CLI)', { skip, timeout: 240_000 }, () => {
  let project: ClusterProject;

  before(async () => {
    requireBuild();
    project = await clusterProject();
    // A first run creates the table and the row.
    await project.coordinate({ timeoutMs: TIMEOUT_MS });
    const first = await runCli(['gather', '--ship'], { cwd: project.dir, env: project.env() }).exit;
    assert.equal(first.code, 0, first.stderr);
  });

  after(() => project?.close());

  const uploads = (): number => project.ingress.requests.length;

  test('a forgotten transaction holding the state row: the ship run exits 2 before gathering, nothing sent, lock free', async () => {
    await project.coordinate({ timeoutMs: TIMEOUT_MS });
    const holder = await holdingClient(['BEGIN', `SELECT * FROM "${project.table}" WHERE id = '${project.lockName}' FOR UPDATE`]);
    try {
      const sent = uploads();
      const run = await exitWithin(runCli(['gather', '--ship'], { cwd: project.dir, env: project.env() }), HANG);
      assert.ok(run, 'the run hung on the row lock');
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /did not answer within 1\.5 s \(coordination\.timeoutMs\) while checking that the state can be written: another session holds a lock/);
      assert.doesNotMatch(run.stderr, /collector hosts ran/);
      assert.equal(uploads(), sent);
    } finally {
      await holder.release();
    }
    assert.equal(await project.lockIsFree(), true);
  });

  test('LOCK TABLE on the state table: even a dry run exits 2 in bounded time', async () => {
    await project.coordinate({ timeoutMs: TIMEOUT_MS });
    const holder = await holdingClient(['BEGIN', `LOCK TABLE "${project.table}" IN ACCESS EXCLUSIVE MODE`]);
    try {
      const run = await exitWithin(runCli(['gather'], { cwd: project.dir, env: project.env() }), HANG);
      assert.ok(run, 'the run hung on the table lock');
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /cannot read the state from postgres table .* did not answer within 1\.5 s/);
    } finally {
      await holder.release();
    }
    assert.equal(await project.lockIsFree(), true);
  });

  describe('a network path that stalls', () => {
    const stalling = async (pattern: RegExp, nth = 1): Promise<PgProxy> => {
      let seen = 0;
      const proxy = await startPgProxy({ stallWhen: (text) => pattern.test(text) && ++seen >= nth });
      await project.coordinate({ timeoutMs: TIMEOUT_MS, postgres: proxy.url('sslmode=disable') });
      return proxy;
    };

    for (const [what, pattern] of [
      ['the write check (INSERT)', /INSERT INTO/],
      ['pg_try_advisory_lock', /pg_try_advisory_lock/],
    ] as const) {
      test(`stalled on ${what}: exit 2 after coordination.timeoutMs, nothing sent, lock free`, async () => {
        const proxy = await stalling(pattern);
        try {
          const sent = uploads();
          const run = await exitWithin(runCli(['gather', '--ship'], { cwd: project.dir, env: project.env() }), HANG);
          assert.ok(run, 'the run hung');
          // The run's history line (§9) is an INSERT too: behind the same stalled path it waits its bound as well.
          assert.equal(proxy.stalls, pattern.source === 'INSERT INTO' ? 2 : 1);
          assert.equal(run.code, 2, run.stderr);
          assert.match(run.stderr, /did not answer within 1\.5 s \(coordination\.timeoutMs\)/);
          assert.equal(uploads(), sent);
        } finally {
          await proxy.close();
        }
        assert.equal(await project.lockIsFree(), true);
      });

      test(`stalled on ${what}: the first SIGTERM ends the wait at once (exit 143), lock free`, async () => {
        const proxy = await stalling(pattern);
        // A long bound: only the signal can end this wait early.
        await project.coordinate({ timeoutMs: 600_000, postgres: proxy.url('sslmode=disable') });
        try {
          const cli = runCli(['gather', '--ship'], { cwd: project.dir, env: project.env() });
          await proxy.nextStall();
          cli.child.kill('SIGTERM');
          const run = await exitWithin(cli, HANG);
          assert.ok(run, 'the first SIGTERM was not honoured');
          assert.equal(run.code, 143, run.stderr);
          assert.doesNotMatch(run.stderr, /collector hosts ran/);
        } finally {
          await proxy.close();
        }
        assert.equal(await project.lockIsFree(), true);
      });
    }

    test('stalled on pg_advisory_unlock: the run still ends (exit 0), its state written, and the lock is free', async () => {
      const proxy = await stalling(/pg_advisory_unlock/);
      try {
        const run = await exitWithin(runCli(['gather', '--ship', '--json'], { cwd: project.dir, env: project.env() }), HANG);
        assert.ok(run, 'the run hung on the unlock');
        assert.equal(proxy.stalls, 1);
        assert.equal(run.code, 0, run.stderr);
        const doc = JSON.parse(run.stdout) as { until: string };
        assert.equal((await project.stateRow())?.entries['hosts'], doc.until);
      } finally {
        await proxy.close();
      }
      assert.equal(await project.lockIsFree(), true);
    });

    test('stalled on the state write after the uploads: exit 1, the result and summary still printed, lock free', async () => {
      // The first INSERT is the write check before gathering; the next ones are the state writes.
      const proxy = await stalling(/INSERT INTO/, 2);
      try {
        const run = await exitWithin(runCli(['gather', '--ship', '--json'], { cwd: project.dir, env: project.env() }), HANG);
        assert.ok(run, 'the run hung on the state write');
        assert.equal(run.code, 1, run.stderr);
        const doc = JSON.parse(run.stdout) as { tarballs: { shipped: boolean }[] };
        assert.equal(doc.tarballs[0]?.shipped, true);
        assert.match(run.stderr, /cannot write the state to postgres table .* did not answer within 1\.5 s/);
        assert.match(run.stderr, /tarball\s+size/, 'the summary is printed');
      } finally {
        await proxy.close();
      }
      assert.equal(await project.lockIsFree(), true);
    });
  });
});
