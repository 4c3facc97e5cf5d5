/**
 * §8 lock: a PostgreSQL session advisory lock, contended by real separate processes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { advisoryLockKey, pgLocker } from '../../src/postgres/lock.js';
import { LockChild, PG_URL, pgSkipReason, uniqueName, withPg } from '../helpers/pg.js';

const skip = await pgSkipReason();

describe('pgLocker', { skip, timeout: 30_000 }, () => {
  const children: LockChild[] = [];
  const child = (lockName: string): LockChild => {
    const c = new LockChild(lockName);
    children.push(c);
    return c;
  };
  after(async () => {
    for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) await c.kill();
  });

  test('the key is the first 8 bytes of SHA-256, as documented (same result in SQL)', async () => {
    const names = ['analytics-collect', 'ünïcødé lock', ''];
    await withPg(async (client) => {
      for (const name of names) {
        const { rows } = await client.query<{ key: string }>(
          "SELECT (('x' || left(encode(sha256(convert_to($1::text, 'UTF8')), 'hex'), 16))::bit(64)::bigint)::text AS key",
          [name],
        );
        assert.equal(advisoryLockKey(name).toString(), rows[0]?.key, name);
      }
    });
    assert.notEqual(advisoryLockKey('a'), advisoryLockKey('b'));
  });

  test('a second process gets LOCKED at once, naming the holder; the lock is free after the first releases', async () => {
    const lockName = uniqueName('lock');
    const first = child(lockName);
    assert.deepEqual(await first.next(), { event: 'locked' });

    const second = child(lockName);
    const refused = await second.next();
    assert.equal(refused.event, 'error');
    assert.equal(refused.code, 'LOCKED');
    assert.match(refused.message ?? '', /another node holds the coordination lock/);
    assert.ok(refused.message?.includes(`"${lockName}"`), refused.message);
    assert.ok(refused.message?.includes('127.0.0.1:5432/test'), refused.message);
    // the holder's application_name carries its host and OS pid
    assert.ok(refused.message?.includes(`pid ${first.process.pid}"`), refused.message);
    assert.equal((await second.exited).code, 0);

    assert.deepEqual(await first.release(), { event: 'released' });
    assert.equal((await first.exited).code, 0);

    const third = child(lockName);
    assert.deepEqual(await third.next(), { event: 'locked' });
    assert.deepEqual(await third.release(), { event: 'released' });
  });

  test('the lock is free after the holder is killed with SIGKILL', async () => {
    const lockName = uniqueName('lock');
    const first = child(lockName);
    assert.deepEqual(await first.next(), { event: 'locked' });
    assert.equal((await first.kill('SIGKILL')).signal, 'SIGKILL');

    // Wait for the server to notice the closed connection: a blocking lock returns as soon as it is free.
    await withPg(async (client) => {
      await client.query("SET statement_timeout = '15s'");
      await client.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey(lockName).toString()]);
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [advisoryLockKey(lockName).toString()]);
    });
    const second = child(lockName);
    assert.deepEqual(await second.next(), { event: 'locked' });
    assert.deepEqual(await second.release(), { event: 'released' });
  });

  test('in one process: acquire, release (twice is harmless), acquire again', async () => {
    const locker = pgLocker({ connectionString: PG_URL, lockName: uniqueName('lock') });
    const held = await locker.acquire();
    await assert.rejects(locker.acquire(), (err: unknown) => err instanceof AppError && err.code === 'LOCKED');
    await held.release();
    await held.release();
    await (await locker.acquire()).release();
  });

  test('a lost lock connection is reported through onLost, and release() still resolves', async () => {
    const lockName = uniqueName('lock');
    let reportLost!: (err: Error) => void;
    const lost = new Promise<Error>((resolve) => (reportLost = resolve));
    const held = await pgLocker({ connectionString: PG_URL, lockName, onLost: reportLost }).acquire();
    const key = BigInt.asUintN(64, advisoryLockKey(lockName));
    await withPg(async (client) => {
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_locks
          WHERE locktype = 'advisory' AND classid = $1::oid AND objid = $2::oid AND objsubid = 1 AND granted`,
        [(key >> 32n).toString(), (key & 0xffffffffn).toString()],
      );
      assert.deepEqual(rows, [{ ok: true }]);
    });
    assert.match((await lost).message, new RegExp(`lost the coordination lock "${lockName}"`));
    await held.release();
    await (await pgLocker({ connectionString: PG_URL, lockName }).acquire()).release();
  });

  test('an unreachable server is a USAGE error naming host, port and database, never the password', async () => {
    const locker = pgLocker({ connectionString: 'postgresql://someone:s3cret-pw@127.0.0.1:1/warehouse', lockName: 'x' });
    await assert.rejects(locker.acquire(), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'USAGE');
      assert.match(err.message, /127\.0\.0\.1:1\/warehouse/);
      assert.doesNotMatch(err.message, /s3cret-pw|someone/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });
});
