/**
 * `state set KEY DATE` / `state reset KEY` through the real CLI (contract §7): under the lock, atomically, old → new,
 * refusing future dates and unknown keys; on the JSON file and on the PostgreSQL state.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const EVENTS = `import { register } from 'analytics-collect';
export const events = register({ key: 'events', version: '1.0', slicing: ({ since, until }) => [[since ?? until, until]], fullSyncIntervalDays: 7 },
  async () => [{ id: 1 }]);
export const hosts = register({ key: 'hosts', version: '1.0' }, async () => ({ n: 1 }));\n`;

describe('state set / state reset (JSON file)', () => {
  let project: Project;
  const run = (...args: string[]) => cli(args, { cwd: project.dir });

  before(async () => {
    requireBuild();
    project = await makeProject();
    await project.collector('events.mjs', EVENTS);
  });
  after(() => project.cleanup());

  it('state set writes the entry and prints old → new; a space instead of T is accepted', async () => {
    await project.writeState({ lastGather: '2026-11-20T00:00:00.000Z', entries: { events: '2026-11-10T00:00:00.000Z' } });
    const result = await run('state', 'set', 'events', '2026-11-15 06:30');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `events: 2026-11-10T00:00:00.000Z → 2026-11-15T06:30:00.000Z\nstate: ${project.stateFile}\n`);
    assert.deepEqual(await project.readState(), {
      version: 1,
      lastGather: '2026-11-20T00:00:00.000Z',
      entries: { events: '2026-11-15T06:30:00.000Z' },
    });
  });

  it('state set of a collector key not yet in the state adds it; --json gives the change', async () => {
    const result = await run('state', 'set', 'hosts', '2026-11-01', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      command: 'state set',
      store: project.stateFile,
      key: 'hosts',
      changes: [{ key: 'hosts', old: null, new: '2026-11-01T00:00:00.000Z' }],
    });
    assert.equal((await project.readState())!.entries.hosts, '2026-11-01T00:00:00.000Z');
  });

  it('state reset removes the key and KEY_full, nothing else', async () => {
    await project.writeState({
      lastGather: null,
      entries: { events: '2026-11-10T00:00:00.000Z', events_full: '2026-11-09T00:00:00.000Z', hosts: '2026-11-11T00:00:00.000Z' },
    });
    const result = await run('state', 'reset', 'events');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^events: 2026-11-10T00:00:00\.000Z → \(none\)\nevents_full: 2026-11-09T00:00:00\.000Z → \(none\)\n/);
    assert.deepEqual((await project.readState())!.entries, { hosts: '2026-11-11T00:00:00.000Z' });
  });

  it('a key that is in the state but no longer a collector\'s can be set and reset', async () => {
    await project.writeState({ lastGather: null, entries: { retired: '2026-11-10T00:00:00.000Z' } });
    assert.equal((await run('state', 'reset', 'retired')).code, 0);
    assert.deepEqual((await project.readState())!.entries, {});
  });

  it('an unknown key is exit 2 with a suggestion, and the state is untouched', async () => {
    await project.writeState({ lastGather: null, entries: { events: '2026-11-10T00:00:00.000Z' } });
    const result = await run('state', 'set', 'hots', '2026-11-01', '--json');
    assert.equal(result.code, 2);
    const { error } = JSON.parse(result.stdout) as { error: { exitCode: number; message: string } };
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /unknown key hots \(did you mean hosts\?\)/);
    assert.match(result.stderr, /^analytics-collect: state set: unknown key hots/);
    assert.deepEqual((await project.readState())!.entries, { events: '2026-11-10T00:00:00.000Z' });
  });

  it('a DATE more than 5 minutes in the future, or no date at all, is exit 2', async () => {
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    const result = await run('state', 'set', 'events', future);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is in the future .*at most 5 minutes ahead/);
    const soon = await run('state', 'set', 'events', new Date(Date.now() + 60_000).toISOString());
    assert.equal(soon.code, 0, soon.stderr);
    const bad = await run('state', 'set', 'events', 'yesterday');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /DATE "yesterday" is not a date; use an ISO 8601 date/);
  });

  it('exit 3 while another process holds the lock, naming it; the state is untouched', async () => {
    await project.writeState({ lastGather: null, entries: { events: '2026-11-10T00:00:00.000Z' } });
    // A live process on this host (this test) holds the lock file.
    await writeFile(project.lockFile, `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })}\n`);
    try {
      const result = await run('state', 'set', 'events', '2026-11-01', '--json');
      assert.equal(result.code, 3);
      assert.equal((JSON.parse(result.stdout) as { error: { exitCode: number } }).error.exitCode, 3);
      assert.match(result.stderr, new RegExp(`pid ${process.pid}`));
      assert.deepEqual((await project.readState())!.entries, { events: '2026-11-10T00:00:00.000Z' });
    } finally {
      await rm(project.lockFile, { force: true });
    }
    assert.equal((await run('state', 'set', 'events', '2026-11-01')).code, 0);
  });
});

describe('state set / state reset (PostgreSQL state)', async () => {
  const skip = await pgSkipReason();
  let project: Project;
  const table = uniqueName('state_cli');

  before(async () => {
    if (skip) return;
    requireBuild();
    project = await makeProject({ coordination: { postgres: PG_URL, table } });
    await project.collector('events.mjs', EVENTS);
  });
  after(async () => {
    if (skip) return;
    await withPg((client) => client.query(`DROP TABLE IF EXISTS ${table}, ${table}_history`));
    await project.cleanup();
  });

  it('sets, shows and resets a key in the database table', { skip }, async () => {
    const env = cleanEnv();
    const set = await cli(['state', 'set', 'events', '2026-11-15T00:00:00Z'], { cwd: project.dir, env });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^events: \(none\) → 2026-11-15T00:00:00\.000Z\n/);
    const shown = await cli(['state', '--json'], { cwd: project.dir, env });
    assert.equal((JSON.parse(shown.stdout) as { entries: Record<string, string> }).entries.events, '2026-11-15T00:00:00.000Z');
    const reset = await cli(['state', 'reset', 'events'], { cwd: project.dir, env });
    assert.equal(reset.code, 0, reset.stderr);
    const after = await cli(['state', '--json'], { cwd: project.dir, env });
    assert.deepEqual((JSON.parse(after.stdout) as { entries: Record<string, string> }).entries, {});
    assert.equal(await project.readState(), null, 'no JSON state file is written with coordination');
  });
});
