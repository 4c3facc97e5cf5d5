/**
 * The file lock within one process: content, modes, takeover rules and release. Across real processes:
 * test/integration/lock-processes.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { fileLocker } from '../../src/state/lock.js';
import { tempRoot } from '../helpers/temp.js';

const root = tempRoot('state-lock');
const freshLockPath = () => join(root.name(), 'state', 'state.json.lock');

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

async function writeLock(path: string, holder: object | string): Promise<string> {
  const text = typeof holder === 'string' ? holder : `${JSON.stringify(holder)}\n`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { mode: 0o600 });
  return text;
}

function assertLocked(err: unknown, ...fragments: string[]): true {
  assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
  assert.equal(err.code, 'LOCKED');
  assert.equal(err.exitCode, 3);
  assert.doesNotMatch(err.message, /\n/);
  for (const fragment of fragments) assert.ok(err.message.includes(fragment), `"${err.message}" should mention ${fragment}`);
  return true;
}

const SINCE = new Date('2026-11-28T01:33:06.000Z');

describe('fileLocker', () => {
  it('creates the lock with { pid, host, since }, mode 0600, parent directories 0700', async () => {
    const path = freshLockPath();
    const lock = await fileLocker(path, { now: () => SINCE, hostname: 'node-a', pid: 4242 }).acquire();
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { pid: 4242, host: 'node-a', since: SINCE.toISOString() });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(path))).mode & 0o777, 0o700);
    assert.equal((await stat(dirname(dirname(path)))).mode & 0o777, 0o700);
    await lock.release();
    assert.deepEqual(await readdir(dirname(path)), []);
  });

  it('defaults to this process and host', async () => {
    const path = freshLockPath();
    const lock = await fileLocker(path).acquire();
    const content = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(content.pid, process.pid);
    assert.equal(content.host, hostname());
    assert.ok(!Number.isNaN(Date.parse(content.since)));
    await lock.release();
  });

  it('refuses a second acquire while held, even within this process, naming holder and path', async () => {
    const path = freshLockPath();
    const lock = await fileLocker(path, { now: () => SINCE }).acquire();
    await assert.rejects(fileLocker(path).acquire(), (err) =>
      assertLocked(err, path, `pid ${process.pid}`, `host ${hostname()}`, SINCE.toISOString()));
    await lock.release();
    const again = await fileLocker(path).acquire();
    await again.release();
  });

  it('respects a live holder on this host (another process)', async () => {
    const path = freshLockPath();
    const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const text = await writeLock(path, { pid: child.pid, host: hostname(), since: '2026-11-28T00:00:00.000Z' });
      await assert.rejects(fileLocker(path).acquire(), (err) => assertLocked(err, `pid ${child.pid}`, 'wait for it to finish'));
      assert.equal(await readFile(path, 'utf8'), text);
    } finally {
      child.stdin.end();
      await once(child, 'exit');
    }
  });

  it('takes over a lock whose process is gone on this host', async () => {
    const path = freshLockPath();
    await writeLock(path, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' });
    const lock = await fileLocker(path, { now: () => SINCE }).acquire();
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { pid: process.pid, host: hostname(), since: SINCE.toISOString() });
    await lock.release();
    await assert.rejects(stat(path), { code: 'ENOENT' });
  });

  it('takes over a lock naming our own pid that this process does not hold (left before a container restart)', async () => {
    const path = freshLockPath();
    await writeLock(path, { pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' });
    const lock = await fileLocker(path, { now: () => SINCE }).acquire();
    assert.equal(JSON.parse(await readFile(path, 'utf8')).since, SINCE.toISOString());
    await lock.release();
  });

  it('respects a lock from another host, whatever its pid, and leaves it untouched', async () => {
    const path = freshLockPath();
    const text = await writeLock(path, { pid: await deadPid(), host: 'node-b', since: '2026-11-28T00:00:00.000Z' });
    await assert.rejects(fileLocker(path, { hostname: 'node-a' }).acquire(), (err) =>
      assertLocked(err, path, 'host node-b', 'since 2026-11-28T00:00:00.000Z', 'another host'));
    assert.equal(await readFile(path, 'utf8'), text);
  });

  for (const [what, content] of [
    ['empty (being written right now)', ''],
    ['not JSON', 'garbage'],
    ['without a pid', JSON.stringify({ host: 'h', since: 's' })],
    ['with pid 0', JSON.stringify({ pid: 0, host: 'h', since: 's' })],
    ['with a negative pid', JSON.stringify({ pid: -1, host: 'h', since: 's' })],
  ] as const) {
    it(`treats a lock file ${what} as held, leaving it alone`, async () => {
      const path = freshLockPath();
      await writeLock(path, content);
      await assert.rejects(fileLocker(path).acquire(), (err) => assertLocked(err, path, 'does not say by whom', 'delete it'));
      assert.equal(await readFile(path, 'utf8'), content);
    });
  }

  it('clears a takeover lock left by a crashed process, then takes over the stale lock', async () => {
    const path = freshLockPath();
    await writeLock(path, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' });
    await writeLock(`${path}.takeover`, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:01.000Z' });
    const lock = await fileLocker(path).acquire();
    assert.deepEqual(await readdir(dirname(path)), ['state.json.lock']);
    await lock.release();
  });

  it('waits for no one: a live takeover in progress elsewhere is reported as LOCKED', async () => {
    const path = freshLockPath();
    await writeLock(path, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' });
    const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await writeLock(`${path}.takeover`, { pid: child.pid, host: hostname(), since: '2026-01-01T00:00:01.000Z' });
      await assert.rejects(fileLocker(path).acquire(), (err) => assertLocked(err, 'taking over', `${path}.takeover`));
    } finally {
      child.stdin.end();
      await once(child, 'exit');
    }
  });

  it('hands a stale lock to exactly one of many lockers racing for it', async () => {
    for (let round = 0; round < 15; round++) {
      const path = freshLockPath();
      await writeLock(path, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' });
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => fileLocker(path).acquire()));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: ${won.length} lockers hold the lock`);
      for (const r of results) if (r.status === 'rejected') assertLocked(r.reason);
      await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
      assert.deepEqual(await readdir(dirname(path)), []);
    }
  });

  it('reports a lock directory it cannot create as a usage error naming the path', async () => {
    const base = root.name();
    await mkdir(base);
    await writeFile(join(base, 'file'), 'x');
    const path = join(base, 'file', 'state.json.lock');
    await assert.rejects(fileLocker(path).acquire(), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'USAGE');
      assert.ok(err.message.includes(path));
      return true;
    });
  });
});

describe('HeldLock.release', () => {
  it('is idempotent and safe to call concurrently (finally block and signal handler)', async () => {
    const path = freshLockPath();
    const lock = await fileLocker(path).acquire();
    await Promise.all([lock.release(), lock.release()]);
    await lock.release();
    await assert.rejects(stat(path), { code: 'ENOENT' });
  });

  it('does not remove a lock that no longer holds our content', async () => {
    const path = freshLockPath();
    const lock = await fileLocker(path).acquire();
    const other = await writeLock(path, { pid: 1, host: 'node-b', since: '2026-11-28T00:00:00.000Z' });
    await lock.release();
    assert.equal(await readFile(path, 'utf8'), other);
  });

  it('does not fail when the lock file is already gone', async () => {
    const path = freshLockPath();
    const lock = await fileLocker(path).acquire();
    await rm(path);
    await lock.release();
  });

  it('frees the lock for this process too', async () => {
    const path = freshLockPath();
    const first = await fileLocker(path).acquire();
    await first.release();
    // The lock file was removed, so this is a fresh acquire, not a takeover of our own pid.
    const second = await fileLocker(path).acquire();
    await second.release();
  });
});
