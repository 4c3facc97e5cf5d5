/**
 * §7/§8: SIGINT and SIGTERM end `check`, `state`, `state set`, `status` and `history` while they wait on
 * PostgreSQL — at once, with the usual exit status (130/143), the coordination lock free — instead of after
 * coordination.timeoutMs. Through the real CLI, against the local PostgreSQL behind a proxy that stops forwarding
 * on a chosen statement (a network path that stalls). The bound is set far longer than the test's deadline: only
 * the signal can end these waits in time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clusterProject, type ClusterProject } from '../helpers/cluster.js';
import { exitWithin, requireBuild, runCli } from '../helpers/fault-cli.js';
import { pgSkipReason } from '../helpers/pg.js';
import { startPgProxy } from '../helpers/pg-proxy.js';

const skip = await pgSkipReason();
/** Far longer than any wait here may last once signalled: reaching it means the signal was not honoured. */
const HANG = 30_000;
const LONG_BOUND_MS = 600_000;

describe('a signal ends a wait on PostgreSQL in check, state, status and history (real CLI)', { skip, timeout: 180_000 }, () => {
  let project: ClusterProject;

  before(async () => {
    requireBuild();
    project = await clusterProject();
    // A first run creates the table and the row.
    const first = await runCli(['gather', '--ship'], { cwd: project.dir, env: project.env() }).exit;
    assert.equal(first.code, 0, first.stderr);
  });
  after(() => project?.close());

  const cases = [
    { args: ['state'], stallOn: /SELECT state::text/, signal: 'SIGINT', code: 130 },
    { args: ['state', '--json'], stallOn: /SELECT state::text/, signal: 'SIGTERM', code: 143 },
    { args: ['state', 'set', 'hosts', '2026-11-01'], stallOn: /INSERT INTO/, signal: 'SIGTERM', code: 143 },
    { args: ['check'], stallOn: /SELECT state::text/, signal: 'SIGINT', code: 130 },
    { args: ['check'], stallOn: /pg_try_advisory_lock/, signal: 'SIGTERM', code: 143 },
    { args: ['status'], stallOn: /FROM pg_locks/, signal: 'SIGTERM', code: 143 },
    { args: ['history'], stallOn: /SELECT entry::text/, signal: 'SIGINT', code: 130 },
  ] as const;

  for (const { args, stallOn, signal, code } of cases) {
    test(`${args.join(' ')} stalled on ${stallOn.source}: ${signal} ends it at once (exit ${code}), lock free`, async () => {
      const before = await project.stateRow();
      const proxy = await startPgProxy({ stallWhen: (text) => stallOn.test(text) });
      await project.coordinate({ timeoutMs: LONG_BOUND_MS, postgres: proxy.url('sslmode=disable') });
      try {
        const cli = runCli(args, { cwd: project.dir, env: project.env() });
        await proxy.nextStall();
        cli.child.kill(signal);
        const run = await exitWithin(cli, HANG);
        assert.ok(run, `${signal} was not honoured while waiting on PostgreSQL`);
        assert.equal(run.code, code, run.stderr);
        assert.match(run.stderr, new RegExp(`${signal} received`));
        assert.equal(run.stdout, '', 'no result for a command that was stopped');
      } finally {
        await proxy.close();
      }
      assert.equal(await project.lockIsFree(), true);
      assert.deepEqual(await project.stateRow(), before, 'the state is unchanged');
    });
  }
});
