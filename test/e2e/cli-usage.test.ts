/**
 * The command line's manners, through the real CLI: `--json` errors on stdout for exit 2/3/4, per-command exit
 * statuses in `--help`, "did you mean" for `--only`, and a space for the T in dates (contract §7).
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';

const HOSTS = `import { register } from 'analytics-collect';
export const hosts = register({ key: 'hosts', version: '1.0' }, async () => ({ n: 1 }));\n`;

type JsonError = { error: { exitCode: number; message: string } };

describe('the command line', () => {
  let project: Project;
  const run = (...args: string[]) => cli(args, { cwd: project.dir });

  before(async () => {
    requireBuild();
    project = await makeProject();
    await project.collector('hosts.mjs', HOSTS);
  });
  after(() => project.cleanup());

  it('--json errors: exit 2 (bad date, unknown flag), 4 (shipping not configured), 3 (lock held) print one JSON document', async () => {
    const date = await run('gather', '--since', 'someday', '--json');
    assert.equal(date.code, 2);
    const dateDoc = JSON.parse(date.stdout) as JsonError;
    assert.equal(dateDoc.error.exitCode, 2);
    assert.match(dateDoc.error.message, /^--since "someday" is not a date/);

    const flag = await run('list', '--jsno', '--json');
    assert.equal(flag.code, 2);
    assert.match((JSON.parse(flag.stdout) as JsonError).error.message, /unknown option '--jsno' \(did you mean --json\?\)/);

    const ship = await run('gather', '--ship', '--json');
    assert.equal(ship.code, 4);
    assert.equal((JSON.parse(ship.stdout) as JsonError).error.exitCode, 4);

    await mkdir(dirname(project.lockFile), { recursive: true });
    await writeFile(project.lockFile, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const locked = await run('gather', '--json');
    assert.equal(locked.code, 3);
    assert.equal((JSON.parse(locked.stdout) as JsonError).error.exitCode, 3);
    await rm(project.lockFile);

    // Without --json, stdout stays empty.
    assert.equal((await run('gather', '--since', 'someday')).stdout, '');
  });

  it('--only with a typo: exit 2 with "did you mean"', async () => {
    const result = await run('gather', '--only', 'hots');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--only: unknown key hots \(did you mean hosts\?\); known keys: config, hosts/);
  });

  it('--since "2026-11-30 10:00" is a date (a space for the T, as RFC 3339 allows)', async () => {
    const result = await run('gather', '--since', '2026-11-30 10:00', '--until', '2026-11-30 12:00', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { since: string; until: string };
    assert.equal(report.since, '2026-11-30T10:00:00.000Z');
    assert.equal(report.until, '2026-11-30T12:00:00.000Z');
  });

  it("each command's --help lists only the exit statuses it can return", async () => {
    const codes = async (...command: string[]): Promise<string[]> => {
      const { stdout } = await cli([...command, '--help'], { cwd: project.dir, env: cleanEnv() });
      const block = stdout.split('\nExit status:\n')[1] ?? '';
      return [...block.matchAll(/^ {2}(\d+) /gm)].map((m) => m[1]!);
    };
    assert.deepEqual(await codes('gather'), ['0', '1', '2', '3', '4', '130']);
    assert.deepEqual(await codes('ship'), ['0', '1', '2', '4', '130']);
    assert.deepEqual(await codes('list'), ['0', '2']);
    assert.deepEqual(await codes('inspect'), ['0', '2']);
    assert.deepEqual(await codes('state'), ['0', '2', '3']);
    assert.deepEqual(await codes('state', 'set'), ['0', '2', '3']);
    assert.deepEqual(await codes('check'), ['0', '1', '2', '4']);
    assert.deepEqual(await codes('init'), ['0', '2']);
  });

  it('--help shows an example of each new flag', async () => {
    const help = async (...command: string[]): Promise<string> => (await cli([...command, '--help'], { cwd: project.dir })).stdout;
    assert.match(await help('ship'), /\$ analytics-collect ship .* --delete/);
    assert.match(await help('inspect'), /\$ analytics-collect inspect .* --cat events\.csv/);
    assert.match(await help('inspect'), /\$ analytics-collect inspect .* --json/);
    assert.match(await help('state'), /\$ analytics-collect state set events /);
    assert.match(await help('state'), /\$ analytics-collect state reset events/);
    assert.match(await help('check'), /\$ analytics-collect check --ship/);
    assert.match(await help('check'), /\$ analytics-collect check --ship --json/);
    assert.match(await help('gather'), /--since "2026-11-30 10:00"/);
  });
});
