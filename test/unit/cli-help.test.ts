import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { createOutput } from '../../src/cli/output.js';
import { oneLineError } from '../../src/cli/program.js';
import { toolVersion } from '../../src/config/load.js';

async function run(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const chunks = { stdout: '', stderr: '' };
  const stream = (name: 'stdout' | 'stderr'): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks[name] += chunk.toString();
        done();
      },
    });
  const out = createOutput({ stdout: stream('stdout'), stderr: stream('stderr'), interactive: false });
  const status = await main(['node', 'analytics-collect', ...args], out);
  return { status, ...chunks };
}

describe('--help', () => {
  for (const command of ['gather', 'ship', 'list', 'inspect', 'state', 'init']) {
    it(`${command} --help exits 0 with its purpose and examples`, async () => {
      const { status, stdout, stderr } = await run(command, '--help');
      assert.equal(status, 0);
      assert.equal(stderr, '');
      assert.match(stdout, new RegExp(`^Usage: analytics-collect ${command} `));
      assert.match(stdout, /\nExamples:\n/);
      assert.match(stdout, new RegExp(`\\$ analytics-collect ${command}\\b`));
    });
  }

  it('the top-level help lists every command, examples and exit statuses', async () => {
    const { status, stdout } = await run('--help');
    assert.equal(status, 0);
    for (const command of ['gather', 'ship', 'list', 'inspect', 'state', 'init']) assert.match(stdout, new RegExp(`\\n  ${command} `));
    assert.match(stdout, /Examples:/);
    for (const code of ['0', '1', '2', '3', '4', '130']) assert.match(stdout, new RegExp(`\\n  ${code} `));
  });

  it('gather --help documents the flags of contract §7', async () => {
    const { stdout } = await run('gather', '--help');
    for (const flag of ['--ship', '--keep', '--since', '--until', '--only', '--output', '--collectors', '--config', '--json', '--log-level', '--verbose', '--quiet']) {
      assert.ok(stdout.includes(flag), flag);
    }
  });

  it('--version prints the package version', async () => {
    const { status, stdout } = await run('--version');
    assert.equal(status, 0);
    assert.equal(stdout, `${toolVersion()}\n`);
  });
});

describe('usage errors', () => {
  it('an unknown flag is exit 2 with one line naming it and the command', async () => {
    const { status, stdout, stderr } = await run('gather', '--sinse', '2026-11-01');
    assert.equal(status, 2);
    assert.equal(stdout, '');
    assert.equal(stderr, `analytics-collect gather: unknown option '--sinse' (did you mean --since?); see "analytics-collect gather --help"\n`);
  });

  it('a bad --log-level is exit 2 naming the flag', async () => {
    const { status, stderr } = await run('list', '--log-level', 'loud');
    assert.equal(status, 2);
    assert.match(stderr, /^analytics-collect list: option '--log-level <level>' argument 'loud' is invalid/);
    assert.equal(stderr.split('\n').filter(Boolean).length, 1);
  });

  it('folds commander messages onto one line', () => {
    assert.equal(oneLineError("error: missing required argument 'tarball'\n", 'x inspect'), `x inspect: missing required argument 'tarball'; see "x inspect --help"\n`);
  });
});
