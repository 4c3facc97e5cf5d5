/**
 * §8: a ship run proves it can write the state before anything is gathered. Each case through the real CLI
 * against the local PostgreSQL: a table of another shape (no unique id; no updated_at), a SELECT-only role, a
 * read-only transaction, a lock name too long to index → exit 2, no collector ran, the ingress saw nothing.
 * Also the messages: a lock name shown escaped and cut short, `$` in a table name, a 64-byte table name refused
 * by the config check naming the config file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { clusterProject, type ClusterProject } from '../helpers/cluster.js';
import { cli, requireBuild } from '../helpers/fault-cli.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const skip = await pgSkipReason();

describe('state problems found before gathering (real CLI)', { skip, timeout: 120_000 }, () => {
  let project: ClusterProject;
  const role = uniqueName('ro_role');
  const tables: string[] = [];

  before(async () => {
    requireBuild();
    project = await clusterProject();
  });

  after(async () => {
    await withPg(async (client) => {
      for (const table of tables) await client.query(`DROP TABLE IF EXISTS "${table}"`);
      await client.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await client.query(`DROP ROLE IF EXISTS ${role}`);
    });
    await project?.close();
  });

  /** A ship run with coordination `overrides`; asserts exit 2 before gathering and nothing sent; returns stderr. */
  async function refused(coordination: Record<string, unknown>, postgres = PG_URL): Promise<string> {
    await project.configure({
      ship: { url: project.ingress.url, contentType: 'application/vnd.redhat.tower.tower_payload+tgz', auth: 'identity' },
      coordination: { postgres, table: project.table, lockName: project.lockName, timeoutMs: 5000, ...coordination },
    });
    const sent = project.ingress.requests.length;
    const run = await cli(['gather', '--ship'], { cwd: project.dir, env: project.env() });
    assert.equal(run.code, 2, run.stderr);
    assert.doesNotMatch(run.stderr, /collector hosts ran/);
    assert.equal(project.ingress.requests.length, sent, 'the ingress saw nothing');
    return run.stderr;
  }

  const tableOf = async (columns: string): Promise<string> => {
    const table = uniqueName('other_shape');
    tables.push(table);
    await withPg((client) => client.query(`CREATE TABLE "${table}" (${columns})`));
    return table;
  };

  test('a table without a unique key on id', async () => {
    const table = await tableOf('id text, state jsonb NOT NULL, updated_at timestamptz, updated_by text');
    const stderr = await refused({ table });
    assert.match(stderr, /the state could not be written to postgres table .*not an analytics-collect state table/);
  });

  test('a table without updated_at', async () => {
    const table = await tableOf('id text PRIMARY KEY, state jsonb NOT NULL, updated_by text');
    const stderr = await refused({ table });
    assert.match(stderr, /column "updated_at" .* does not exist.*not an analytics-collect state table/);
  });

  test('a SELECT-only role', async () => {
    const table = await tableOf("id text PRIMARY KEY, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), updated_by text NOT NULL DEFAULT ''");
    await withPg(async (client) => {
      await client.query(`CREATE ROLE ${role} LOGIN`);
      await client.query(`GRANT SELECT ON "${table}" TO ${role}`);
    });
    const stderr = await refused({ table }, PG_URL.replace('//root@', `//${role}@`));
    assert.match(stderr, new RegExp(`permission denied .*the role "${role}" may not write it: GRANT SELECT, INSERT, UPDATE`));
  });

  test('a read-only transaction (default_transaction_read_only, as on a standby)', async () => {
    // The table exists (a first run created it), so only the write shows the problem.
    await project.coordinate({ timeoutMs: 5000 });
    tables.push(project.table);
    const ok = await cli(['gather', '--ship'], { cwd: project.dir, env: project.env() });
    assert.equal(ok.code, 0, ok.stderr);
    const stderr = await refused({}, `${PG_URL}?options=${encodeURIComponent('-c default_transaction_read_only=on')}`);
    assert.match(stderr, /read-only .*point coordination\.postgres at the primary/);
  });

  test('a lock name too long to index: refused, the name shown escaped and cut short', async () => {
    const lockName = `\u001b]0;pwned\u0007${randomBytes(4000).toString('hex')}`;
    const stderr = await refused({ lockName });
    assert.match(stderr, /coordination\.lockName \(\d+ bytes\) is too long to be the state row's key/);
    assert.ok(stderr.includes('"\\u001b]0;pwned\\u0007'), stderr.slice(0, 400));
    assert.doesNotMatch(stderr, /\u001b|\u0007/);
    assert.match(stderr, /…" \(8010 characters\)/);
    assert.ok(stderr.length < 2000, `stderr holds ${stderr.length} characters`);
  });

  test('`$` in coordination.table is accepted; a 64-byte name is refused by the config check, naming the file', async () => {
    await project.coordinate({ extra: {} });
    const dollar = `t$${uniqueName('dollar')}`;
    tables.push(dollar);
    await project.configure({ coordination: { postgres: PG_URL, table: dollar, lockName: project.lockName } });
    const ok = await cli(['gather'], { cwd: project.dir, env: project.env() });
    assert.equal(ok.code, 0, ok.stderr);
    await project.configure({ coordination: { postgres: PG_URL, table: 'x'.repeat(64), lockName: project.lockName } });
    const long = await cli(['gather'], { cwd: project.dir, env: project.env() });
    assert.equal(long.code, 2, long.stderr);
    assert.match(long.stderr, /coordination\.table/);
    assert.ok(long.stderr.includes(project.configFile), long.stderr);
  });
});
