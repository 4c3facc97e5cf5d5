/** `status`'s lock holder with coordination (§8, §9): read from pg_locks without taking the lock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedConfig } from '../../src/config/types.js';
import { lockStatus } from '../../src/history/lock-holder.js';
import { advisoryLockKey } from '../../src/postgres/lock.js';
import { PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const skip = await pgSkipReason();

describe('lock holder in PostgreSQL', { skip }, () => {
  it('free, then held by another session (named), then free again', async () => {
    const lockName = uniqueName('status-lock');
    const config = { stateFile: '/nonexistent/state.json', coordination: { postgres: PG_URL, lockName, table: 't', timeoutMs: 5000 } } as unknown as ResolvedConfig;
    assert.deepEqual(await lockStatus(config), { held: false, holder: null });
    await withPg(async (client) => {
      await client.query(`SET application_name = 'analytics-collect node-9 pid 77'`);
      await client.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey(lockName).toString()]);
      const held = await lockStatus(config);
      assert.equal(held.held, true);
      assert.match(held.holder!, /^PostgreSQL pid \d+, "analytics-collect node-9 pid 77", .*advisory lock "status-lock_/);
    });
    assert.deepEqual(await lockStatus(config), { held: false, holder: null });
  });
});
