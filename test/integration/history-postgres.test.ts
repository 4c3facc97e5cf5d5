/**
 * The history in PostgreSQL (contract §8, §9): `<coordination.table>_history`, created when missing, newest
 * `keep` kept per lock name, every node's entries visible, concurrent appends all kept, bounded waits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pgHistoryStore } from '../../src/history/pg-store.js';
import { sampleEntry } from '../helpers/history.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const skip = await pgSkipReason();
const tables: string[] = [];

describe('PostgreSQL history store', { skip }, () => {
  let table: string;
  before(() => {
    table = uniqueName('hist');
    tables.push(`${table}_history`);
  });
  after(() => withPg(async (client) => {
    for (const t of tables) await client.query(`DROP TABLE IF EXISTS "${t}"`);
  }));

  it('reads nothing before the table exists, then appends and lists newest first, keeping the newest N', async () => {
    const store = pgHistoryStore({ connectionString: PG_URL, table, lockName: 'a', timeoutMs: 5000 });
    assert.deepEqual(await store.list(), []);
    for (let i = 0; i < 5; i++) await store.append(sampleEntry({ id: `e${i}` }), 3);
    assert.deepEqual((await store.list()).map((e) => e.id), ['e4', 'e3', 'e2']);
    assert.deepEqual((await store.list(1)).map((e) => e.id), ['e4']);
    assert.match(store.describe(), new RegExp(`postgres table ${table}_history on 127\\.0\\.0\\.1:5432/test`));
  });

  it('another lock name keeps its own history in the same table; concurrent appends (two nodes) are all kept', async () => {
    const nodeA = pgHistoryStore({ connectionString: PG_URL, table, lockName: 'b', timeoutMs: 5000 });
    const nodeB = pgHistoryStore({ connectionString: PG_URL, table, lockName: 'b', timeoutMs: 5000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? nodeA : nodeB).append(sampleEntry({ id: `b${i}` }), 100)));
    const ids = (await nodeA.list()).map((e) => e.id);
    assert.deepEqual([...ids].sort(), Array.from({ length: 10 }, (_, i) => `b${i}`).sort());
    assert.equal((await pgHistoryStore({ connectionString: PG_URL, table, lockName: 'a', timeoutMs: 5000 }).list()).length, 3);
  });

  it('nodes creating the missing table at the same moment all append', async () => {
    for (let round = 0; round < 25; round++) {
      const name = uniqueName('hrace');
      tables.push(`${name}_history`);
      const nodes = Array.from({ length: 6 }, (_, i) => pgHistoryStore({ connectionString: PG_URL, table: name, lockName: `n${i}`, timeoutMs: 5000 }));
      await Promise.all(nodes.map((node, i) => node.append(sampleEntry({ id: `r${round}-${i}` }), 10)));
      assert.deepEqual((await nodes[0]!.list()).map((e) => e.id), [`r${round}-0`]);
    }
  });

  it('an unreachable server fails within the bound, naming the table, never the password', async () => {
    const store = pgHistoryStore({ connectionString: 'postgresql://u:Sup3r-secret@127.0.0.1:1/none', table, lockName: 'a', timeoutMs: 1000 });
    await assert.rejects(store.append(sampleEntry(), 10), (err: Error) => {
      assert.match(err.message, /cannot write the history in postgres table .*_history on 127\.0\.0\.1:1\/none/);
      assert.ok(!err.message.includes('Sup3r-secret'));
      return true;
    });
  });
});
