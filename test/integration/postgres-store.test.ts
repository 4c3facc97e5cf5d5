/**
 * §8 state: the §4 state document in a PostgreSQL table shared by the nodes of a cluster.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { pgStateStore } from '../../src/postgres/store.js';
import type { State } from '../../src/types.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

/** State entries inherit nothing (null prototype); compared here as a plain object. */
const plainState = <T extends { entries: object }>(state: T): T => ({ ...state, entries: { ...state.entries } });

const skip = await pgSkipReason();

const sample: State = {
  version: 1,
  lastGather: new Date('2026-11-28T01:33:06.000Z'),
  entries: { jobs: new Date('2026-11-28T00:00:00.000Z'), jobs_full: new Date('2026-11-25T03:00:00.123Z'), 'hosts.v2': new Date(0) },
};

const isUsage = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof AppError, String(err));
  assert.equal(err.code, 'USAGE');
  assert.match(err.message, pattern);
  assert.doesNotMatch(err.message, /\n/);
  return true;
};

describe('pgStateStore', { skip, timeout: 30_000 }, () => {
  const cleanup: string[] = [];
  after(async () => {
    await withPg(async (client) => {
      for (const sql of cleanup.reverse()) await client.query(sql);
    });
  });
  const freshTable = (): string => {
    const table = uniqueName('state');
    cleanup.push(`DROP TABLE IF EXISTS "${table}"`);
    return table;
  };

  test('read() creates a missing table and yields the empty state', async () => {
    const table = freshTable();
    const store = pgStateStore({ connectionString: PG_URL, table });
    assert.deepEqual(plainState(await store.read()), { version: 1, lastGather: null, entries: {} });
    await withPg(async (client) => {
      const { rows } = await client.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      assert.deepEqual(rows.map((r) => `${r.column_name} ${r.data_type}`), [
        'id text', 'state jsonb', 'updated_at timestamp with time zone', 'updated_by text',
      ]);
    });
    assert.match(store.describe(), new RegExp(`^postgres table ${table} \\(row "analytics-collect"\\) on 127\\.0\\.0\\.1:5432/test$`));
  });

  test('write() then read() round-trips; node B reads what node A wrote', async () => {
    const table = freshTable();
    const nodeA = pgStateStore({ connectionString: PG_URL, table, stateId: 'product-x' });
    const nodeB = pgStateStore({ connectionString: PG_URL, table, stateId: 'product-x' });
    await nodeA.write(sample); // creates the table too
    assert.deepEqual(plainState(await nodeB.read()), sample);
    const next: State = { version: 1, lastGather: new Date('2026-12-01T00:00:00.000Z'), entries: { jobs: new Date('2026-12-01T00:00:00.000Z') } };
    await nodeB.write(next);
    assert.deepEqual(plainState(await nodeA.read()), next);
    // the row holds exactly the JSON state file's document
    await withPg(async (client) => {
      const { rows } = await client.query(`SELECT id, state, updated_by FROM "${table}"`);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].id, 'product-x');
      assert.deepEqual(rows[0].state, { version: 1, lastGather: '2026-12-01T00:00:00.000Z', entries: { jobs: '2026-12-01T00:00:00.000Z' } });
      assert.match(rows[0].updated_by, new RegExp(`^analytics-collect .* pid ${process.pid}$`));
    });
  });

  test('nodes creating the missing table at the same moment all succeed (CREATE IF NOT EXISTS races itself)', async () => {
    // The race is narrow: many rounds of six nodes each; the old code lost about one round in five to
    // 'type "..." already exists' (42710), which it did not recognise as another node's CREATE.
    for (let round = 0; round < 25; round++) {
      const table = freshTable();
      const nodes = Array.from({ length: 6 }, (_, i) => pgStateStore({ connectionString: PG_URL, table, stateId: `node-${i}` }));
      const read = await Promise.all(nodes.map((node) => node.read()));
      assert.deepEqual(read.map((state) => state.lastGather), nodes.map(() => null));
    }
  });

  test('different state ids (lock names) in one table are independent', async () => {
    const table = freshTable();
    await pgStateStore({ connectionString: PG_URL, table, stateId: 'a' }).write(sample);
    assert.deepEqual(plainState(await pgStateStore({ connectionString: PG_URL, table, stateId: 'b' }).read()), { version: 1, lastGather: null, entries: {} });
  });

  test('a schema-qualified table works; a missing schema is a USAGE error naming it', async () => {
    const schema = uniqueName('sch');
    cleanup.push(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await assert.rejects(pgStateStore({ connectionString: PG_URL, table: `${schema}.state` }).read(), isUsage(new RegExp(`${schema}.state.*create the schema`)));
    await withPg((client) => client.query(`CREATE SCHEMA "${schema}"`));
    const store = pgStateStore({ connectionString: PG_URL, table: `${schema}.state` });
    await store.write(sample);
    assert.deepEqual(plainState(await store.read()), sample);
  });

  test('a write is one transaction: when it fails, the previous state stays whole', async () => {
    const table = freshTable();
    const store = pgStateStore({ connectionString: PG_URL, table });
    await store.write(sample);
    await withPg((client) =>
      client.query(`
        CREATE FUNCTION "${table}_refuse"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
        CREATE TRIGGER refuse AFTER UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION "${table}_refuse"();`),
    );
    cleanup.push(`DROP FUNCTION IF EXISTS "${table}_refuse"() CASCADE`);
    await assert.rejects(store.write({ version: 1, lastGather: null, entries: {} }), (err: unknown) => {
      // like the file store: a state that cannot be written at the end of a run is exit 1, not a usage error
      assert.ok(err instanceof AppError && err.code === 'FAILED', String(err));
      assert.match(err.message, new RegExp(`cannot write the state to postgres table ${table} .*refused by test trigger.*next run gathers the same windows again`));
      return true;
    });
    assert.deepEqual(plainState(await store.read()), sample);
  });

  test('a damaged row is a USAGE error naming the table and row, never reset', async () => {
    const table = freshTable();
    const store = pgStateStore({ connectionString: PG_URL, table });
    await store.read();
    for (const [damage, problem] of [
      ['{"version":2,"lastGather":null,"entries":{}}', /"version" is 2/],
      ['{"version":1,"lastGather":"yesterday","entries":{}}', /"lastGather" is a string of 9 characters, not an ISO 8601 date/],
      ['{"version":1,"lastGather":null,"entries":{"jobs":42}}', /entries\["jobs"\] is a number, not an ISO 8601 date/],
      ['[1,2]', /not a JSON object/],
      ['{"version":1,"lastGather":null,"entries":{"no/slash":"2026-01-01T00:00:00Z"}}', /no collector key/],
    ] as const) {
      await withPg((client) =>
        client.query(`INSERT INTO "${table}" (id, state) VALUES ('analytics-collect', $1::jsonb) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state`, [damage]),
      );
      await assert.rejects(store.read(), isUsage(new RegExp(`^postgres table ${table} \\(row "analytics-collect"\\) on 127\\.0\\.0\\.1:5432/test is damaged: .*delete the row`)));
      await assert.rejects(store.read(), isUsage(problem));
    }
  });

  test("someone else's table under our name is a USAGE error saying so", async () => {
    const table = freshTable();
    await withPg((client) => client.query(`CREATE TABLE "${table}" (id integer PRIMARY KEY, payload text)`));
    await assert.rejects(pgStateStore({ connectionString: PG_URL, table }).read(), isUsage(/not an analytics-collect state table/));
  });

  test('table names are validated (no SQL injection through coordination.table)', () => {
    for (const bad of ['x; DROP TABLE y', 'a.b.c', '"quoted"', '', '1abc', 'a-b']) {
      assert.throws(() => pgStateStore({ connectionString: PG_URL, table: bad }), isUsage(/coordination\.table .* is not a table name/));
    }
  });

  test('an unreachable server: read is USAGE, write is FAILED; neither shows the password', async () => {
    const store = pgStateStore({ connectionString: 'postgresql://u:hunter2hunter2@127.0.0.1:1/db', table: 't' });
    for (const [attempt, code] of [[() => store.read(), 'USAGE'], [() => store.write(sample), 'FAILED']] as const) {
      await assert.rejects(attempt(), (err: unknown) => {
        assert.ok(err instanceof AppError && err.code === code, String(err));
        assert.match(err.message, /127\.0\.0\.1:1\/db/);
        assert.doesNotMatch(err.message, /hunter2|\n/);
        return true;
      });
    }
  });
});
