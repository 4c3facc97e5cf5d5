/**
 * §8: the cluster has one clock, the database's. Nodes whose clocks are an hour ahead or behind (a module
 * preloaded with `--import` shifts `Date` in that node's process) take turns shipping rows of a table whose
 * `created` comes from the database; no row is ever skipped, the shared state never passes the database's time,
 * and a skewed node says so.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterProject, type ClusterProject } from '../helpers/cluster.js';
import { cli, REPO, requireBuild } from '../helpers/fault-cli.js';
import { pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const skip = await pgSkipReason();
const HOUR = 3_600_000;

/** Preloaded into a node: `Date.now()` and `new Date()` run CLOCK_OFFSET_MS ahead (or behind). */
const SHIFT = `
const offset = Number(process.env.CLOCK_OFFSET_MS ?? 0);
const Real = Date;
class Shifted extends Real {
  constructor(...args) { if (args.length === 0) super(Real.now() + offset); else super(...args); }
  static now() { return Real.now() + offset; }
}
globalThis.Date = Shifted;
`;

describe('one clock: the database\u2019s (real CLI, skewed nodes)', { skip, timeout: 180_000 }, () => {
  let project: ClusterProject;
  const events = uniqueName('events');
  let inserted: number[] = [];

  before(async () => {
    requireBuild();
    project = await clusterProject();
    await withPg((c) => c.query(`CREATE TABLE "${events}" (id serial PRIMARY KEY, created timestamptz NOT NULL DEFAULT clock_timestamp())`));
    await writeFile(join(project.dir, 'shift.mjs'), SHIFT);
    await project.collector('10-hosts.mjs', '');
    await project.collector(
      '10-events.mjs',
      `import { register } from 'analytics-collect';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const pg = createRequire(${JSON.stringify(join(REPO, 'package.json'))})('pg');
export const events = register({ key: 'events', version: '1.0' }, async (ctx) => {
  const client = new pg.Client({ connectionString: 'postgresql://root@127.0.0.1:5432/test' });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT id FROM "${events}" WHERE created >= $1 AND created < $2 ORDER BY id', [ctx.since, ctx.until]);
    appendFileSync(${JSON.stringify(join(project.dir, 'gathered.log'))}, rows.map((r) => r.id + '\\n').join(''));
    return { ids: rows.map((r) => r.id) };
  } finally { await client.end(); }
});
`,
    );
    await project.coordinate({ timeoutMs: 5000 });
  });

  after(async () => {
    await withPg((c) => c.query(`DROP TABLE IF EXISTS "${events}"`));
    await project?.close();
  });

  const insertRows = async (n: number): Promise<void> => {
    const { rows } = await withPg((c) => c.query<{ id: number }>(`INSERT INTO "${events}" SELECT FROM generate_series(1, ${n}) RETURNING id`));
    inserted = [...inserted, ...rows.map((r) => r.id)];
  };

  const node = async (offsetMs: number): Promise<{ code: number; stderr: string }> => {
    const env = project.env(offsetMs === 0 ? {} : { NODE_OPTIONS: `--import=${join(project.dir, 'shift.mjs')}`, CLOCK_OFFSET_MS: String(offsetMs) });
    return cli(['gather', '--ship'], { cwd: project.dir, env });
  };

  const databaseNow = async (): Promise<number> => (await withPg((c) => c.query<{ now: Date }>('SELECT clock_timestamp() AS now'))).rows[0]!.now.getTime();

  test('nodes an hour ahead and behind take turns: every row is shipped, the state never passes the database\u2019s time', async () => {
    for (const offset of [HOUR, 0, -HOUR, HOUR, -HOUR, 0]) {
      await insertRows(3);
      const run = await node(offset);
      assert.equal(run.code, 0, `node ${offset / HOUR} h: ${run.stderr}`);
      if (offset !== 0) assert.match(run.stderr, new RegExp(`clock is about 60 minutes ${offset > 0 ? 'ahead of' : 'behind'} the database's`));
      const row = await project.stateRow();
      const now = await databaseNow();
      assert.ok(row !== null);
      for (const [key, value] of [['lastGather', row.lastGather], ['events', row.entries['events']]] as const) {
        assert.ok(value !== null && value !== undefined && Date.parse(value) <= now, `${key} ${value} is past the database's time`);
      }
    }
    const gathered = new Set((await readFile(join(project.dir, 'gathered.log'), 'utf8')).split('\n').filter(Boolean).map(Number));
    assert.deepEqual(inserted.filter((id) => !gathered.has(id)), [], 'rows never shipped');
  });
});
