/**
 * The lock heartbeat and `lockStaleMs` (contract §4, issue 12 defect 12), and lock files that are not what they
 * seem (defect 8): a symbolic link or a FIFO is refused without being followed or read, content never quoted.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { AppError } from '../../src/errors.js';
import { fileLocker } from '../../src/state/lock.js';
import { tempRoot } from '../helpers/temp.js';

const root = tempRoot('state-lock-hb');

async function lockPath(): Promise<string> {
  return join(await root.fresh(), 'state.json.lock');
}

/** Writes a lock of another holder, last refreshed `ageMs` ago. */
async function foreignLock(path: string, host: string, ageMs: number): Promise<string> {
  const text = `${JSON.stringify({ pid: 77777, host, since: '2026-11-28T00:00:00.000Z' })}\n`;
  await writeFile(path, text, { mode: 0o600 });
  const at = new Date(Date.now() - ageMs);
  await utimes(path, at, at);
  return text;
}

describe('lockStaleMs', () => {
  it('takes over a lock from another host not refreshed for lockStaleMs, warning with its holder', async () => {
    const path = await lockPath();
    await foreignLock(path, 'old-container', 61_000);
    const warnings: string[] = [];
    const lock = await fileLocker(path, { hostname: 'new-container', staleMs: 60_000, warn: (m) => warnings.push(m) }).acquire();
    assert.equal(JSON.parse(await readFile(path, 'utf8')).host, 'new-container');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /took over the lock .*state\.json\.lock from pid 77777 on host old-container since 2026-11-28T00:00:00\.000Z: not refreshed for 6\d s \(lockStaleMs 60000\)/);
    await lock.release();
  });

  it('respects a fresh lock from another host', async () => {
    const path = await lockPath();
    const text = await foreignLock(path, 'other', 59_000);
    await assert.rejects(fileLocker(path, { hostname: 'me', staleMs: 60_000 }).acquire(), (err: Error) => {
      assert.ok(err instanceof AppError && err.exitCode === 3);
      assert.match(err.message, /another gather holds the lock .* \(pid 77777 on host other since/);
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), text);
  });

  it('takes over a damaged lock only once it is stale, never quoting it', async () => {
    const path = await lockPath();
    await writeFile(path, 'root:$6$SECRETHASH:19000');
    await assert.rejects(fileLocker(path, { staleMs: 60_000 }).acquire(), (err: Error) => {
      assert.ok(!err.message.includes('SECRET'), err.message);
      return err instanceof AppError && err.exitCode === 3;
    });
    const old = new Date(Date.now() - 120_000);
    await utimes(path, old, old);
    const warnings: string[] = [];
    const lock = await fileLocker(path, { staleMs: 60_000, warn: (m) => warnings.push(m) }).acquire();
    assert.match(warnings[0]!, /from holder unknown/);
    assert.ok(!warnings[0]!.includes('SECRET'));
    await lock.release();
  });
});

describe('the heartbeat', () => {
  it('refreshes the lock file modification time while held', async () => {
    const path = await lockPath();
    const lock = await fileLocker(path, { heartbeatMs: 20 }).acquire();
    const old = new Date(Date.now() - 3_600_000);
    const watcher = watch(dirname(path));
    await utimes(path, old, old);
    // Wait for the heartbeat's own touch: a change event after which the mtime is recent again.
    for (;;) {
      await once(watcher, 'change');
      if ((await stat(path)).mtimeMs > old.getTime() + 60_000) break;
    }
    watcher.close();
    await lock.release();
  });

  it('tells onLost listeners, once, when another process took the lock over, and then leaves its file alone', async () => {
    const path = await lockPath();
    const lock = await fileLocker(path, { heartbeatMs: 10 }).acquire();
    const lost = new Promise<Error>((resolve) => lock.onLost(resolve));
    const theirs = await foreignLock(path, 'thief', 0);
    // The heartbeat timer is unref'd (it never keeps a CLI alive): keep the loop alive while waiting for it.
    const keepAlive = setInterval(() => undefined, 60_000);
    const err = await lost.finally(() => clearInterval(keepAlive));
    assert.ok(err instanceof AppError);
    assert.match(err.message, /^lost the lock .*state\.json\.lock: it is held by pid 77777 on host thief since .* now/);
    await lock.release();
    assert.equal(await readFile(path, 'utf8'), theirs, 'release does not delete the new holder\'s lock');
    let late: Error | undefined;
    lock.onLost((e) => (late = e));
    assert.equal(late, err, 'a listener registered later hears it at once');
  });

  it('describes its holder', async () => {
    const path = await lockPath();
    const lock = await fileLocker(path, { hostname: 'h1', pid: 4242 }).acquire();
    assert.equal(lock.describeHolder(), `pid 4242 on host h1 (lock file ${path})`);
    await lock.release();
  });
});

describe('lock files that are not lock files', () => {
  it('refuses a symbolic link (exit 2) without following it, reading its target or quoting anything', async () => {
    const path = await lockPath();
    const target = join(dirname(path), 'shadow');
    await writeFile(target, 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
    await symlink(target, path);
    await assert.rejects(fileLocker(path).acquire(), (err: Error) => {
      assert.ok(err instanceof AppError && err.exitCode === 2, String(err));
      assert.equal(err.message, `the lock file ${path} is a symbolic link, which analytics-collect never creates; if no gather is running, delete it`);
      return true;
    });
    assert.equal(await readFile(target, 'utf8'), 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
  });

  it('refuses a FIFO at once instead of hanging on it', async () => {
    const path = await lockPath();
    execFileSync('mkfifo', [path]);
    await assert.rejects(fileLocker(path).acquire(), { message: `the lock file ${path} is not a regular file, which analytics-collect never creates; if no gather is running, delete it` });
  });
});
