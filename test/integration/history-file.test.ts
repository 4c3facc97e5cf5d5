/**
 * The history file (contract §9): newest `historyKeep` kept, mode 0600, damaged lines skipped, and several real
 * processes appending at once never lose a line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileHistoryStore } from '../../src/history/file-store.js';
import { REPO } from '../helpers/fault-cli.js';
import { sampleEntry } from '../helpers/history.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ac-history-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('file history store', () => {
  it('appends, lists newest first, keeps the newest N, mode 0600, no lock left', async () => {
    const file = join(dir, 'sub', 'history.jsonl');
    const store = fileHistoryStore(file);
    for (let i = 0; i < 5; i++) await store.append(sampleEntry({ id: `e${i}` }), 3);
    assert.deepEqual((await store.list()).map((e) => e.id), ['e4', 'e3', 'e2']);
    assert.deepEqual((await store.list(2)).map((e) => e.id), ['e4', 'e3']);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await assert.rejects(stat(`${file}.lock`), { code: 'ENOENT' });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 3);
  });

  it('a missing file is an empty history; damaged lines are skipped', async () => {
    const file = join(dir, 'damaged.jsonl');
    assert.deepEqual(await fileHistoryStore(file).list(), []);
    await writeFile(file, `${JSON.stringify(sampleEntry({ id: 'good' }))}\nnot json\n{"id":1}\n`);
    assert.deepEqual((await fileHistoryStore(file).list()).map((e) => e.id), ['good']);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const file = join(dir, 'stale.jsonl');
    await writeFile(`${file}.lock`, JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), since: 'x' }));
    await fileHistoryStore(file, { timeoutMs: 2000 }).append(sampleEntry({ id: 'after-stale' }), 10);
    assert.deepEqual((await fileHistoryStore(file).list()).map((e) => e.id), ['after-stale']);
  });

  it('gives up on a live lock after its timeout, naming the lock file', async () => {
    const file = join(dir, 'held.jsonl');
    await writeFile(`${file}.lock`, JSON.stringify({ pid: process.ppid, host: 'another-host', since: 'x' }));
    await assert.rejects(fileHistoryStore(file, { timeoutMs: 50 }).append(sampleEntry(), 10), /held\.jsonl\.lock.*another-host/);
  });

  it('several processes appending at once lose no line', async () => {
    const file = join(dir, 'concurrent.jsonl');
    const PROCESSES = 6;
    const EACH = 15;
    const children = Array.from({ length: PROCESSES }, (_, p) =>
      spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/helpers/history-appender.ts'), file, String(EACH), `p${p}`], {
        cwd: REPO,
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    // Every appender is loaded and waiting before any starts: they really run at once.
    await Promise.all(children.map((child) => once(createInterface({ input: child.stdout }), 'line')));
    const exits = children.map((child) => once(child, 'close'));
    for (const child of children) child.stdin.end('go\n');
    for (const [code] of await Promise.all(exits)) assert.equal(code, 0);
    const ids = (await fileHistoryStore(file).list()).map((e) => e.id);
    assert.equal(ids.length, PROCESSES * EACH);
    assert.equal(new Set(ids).size, PROCESSES * EACH);
    // Each process's own entries stay in the order it appended them.
    for (let p = 0; p < PROCESSES; p++) {
      const own = ids.filter((id) => id.startsWith(`p${p}-`)).reverse();
      assert.deepEqual(own, Array.from({ length: EACH }, (_, i) => `p${p}-${i}`));
    }
  });
});
