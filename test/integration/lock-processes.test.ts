/**
 * The single-run lock across real, separate processes: each holder runs test/helpers/lock-holder.ts and says
 * on stdout when it holds the lock; the test tells it to release by writing a line to its stdin. No sleeps.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const HELPER = resolve(dirname(fileURLToPath(import.meta.url)), '../helpers/lock-holder.ts');

interface Holder {
  child: ChildProcess;
  /** The first line the holder printed, parsed. */
  first: Promise<{ status: string; pid?: number; code?: string; message?: string }>;
  /** Resolves with the exit code, after all its output. */
  exit: Promise<number | null>;
  lines: string[];
}

function startHolder(lockPath: string): Holder {
  const child = spawn(process.execPath, ['--import', 'tsx', HELPER, lockPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout });
  const first = new Promise<Holder['first'] extends Promise<infer T> ? T : never>((resolveFirst, reject) => {
    reader.on('line', (line) => {
      lines.push(line);
      if (lines.length === 1) resolveFirst(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}) before saying anything`)));
  });
  first.catch(() => undefined); // observed by the tests that await it
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, first, exit, lines };
}

async function releaseHolder(holder: Holder): Promise<void> {
  holder.child.stdin!.end('release\n');
  assert.equal(await holder.exit, 0);
  assert.deepEqual(JSON.parse(holder.lines.at(-1)!), { status: 'released' });
}

/** Writes a lock file as another process would have; returns its text. */
async function writeLock(lockPath: string, holder: { pid: number; host: string; since: string }): Promise<string> {
  const text = `${JSON.stringify(holder)}\n`;
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  await writeFile(lockPath, text, { mode: 0o600 });
  return text;
}

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lock-processes-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
const freshLockPath = () => join(root, `run${n++}`, 'state.json.lock');

describe('file lock across processes', () => {
  it('lets one process hold it; a second one fails at once with exit 3 naming the holder; after release it is free', async () => {
    const lockPath = freshLockPath();
    const first = startHolder(lockPath);
    const held = await first.first;
    assert.equal(held.status, 'locked');
    assert.equal(held.pid, first.child.pid);

    const content = JSON.parse(await readFile(lockPath, 'utf8'));
    assert.deepEqual(Object.keys(content).sort(), ['host', 'pid', 'since']);
    assert.equal(content.pid, first.child.pid);
    assert.equal(content.host, hostname());
    assert.equal((await stat(lockPath)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(lockPath))).mode & 0o777, 0o700);

    const second = startHolder(lockPath);
    const refused = await second.first;
    assert.equal(await second.exit, 3);
    assert.equal(refused.status, 'error');
    assert.equal(refused.code, 'LOCKED');
    assert.ok(refused.message!.includes(`pid ${first.child.pid}`), refused.message);
    assert.ok(refused.message!.includes(hostname()), refused.message);
    assert.ok(refused.message!.includes(content.since), refused.message);
    assert.ok(refused.message!.includes(lockPath), refused.message);

    await releaseHolder(first);
    await assert.rejects(stat(lockPath), { code: 'ENOENT' });

    const third = startHolder(lockPath);
    assert.equal((await third.first).status, 'locked');
    await releaseHolder(third);
  });

  it('gives the lock to exactly one of several processes starting together', async () => {
    const lockPath = freshLockPath();
    const holders = [startHolder(lockPath), startHolder(lockPath), startHolder(lockPath)];
    const answers = await Promise.all(holders.map((h) => h.first));
    assert.equal(answers.filter((a) => a.status === 'locked').length, 1, JSON.stringify(answers));
    assert.equal(answers.filter((a) => a.code === 'LOCKED').length, 2, JSON.stringify(answers));
    await Promise.all(holders.map((h, i) => (answers[i]!.status === 'locked' ? releaseHolder(h) : h.exit)));
  });

  it('takes over a lock whose process is gone (same host)', async () => {
    const lockPath = freshLockPath();
    await writeLock(lockPath, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' });
    const taker = startHolder(lockPath);
    assert.equal((await taker.first).status, 'locked');
    assert.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, taker.child.pid);
    await releaseHolder(taker);
  });

  it('hands a stale lock to exactly one of several processes taking it over together', async () => {
    const lockPath = freshLockPath();
    await writeLock(lockPath, { pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00.000Z' });
    const holders = [startHolder(lockPath), startHolder(lockPath), startHolder(lockPath)];
    const answers = await Promise.all(holders.map((h) => h.first));
    assert.equal(answers.filter((a) => a.status === 'locked').length, 1, JSON.stringify(answers));
    const winner = holders[answers.findIndex((a) => a.status === 'locked')]!;
    assert.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, winner.child.pid);
    await Promise.all(holders.map((h) => (h === winner ? releaseHolder(h) : h.exit)));
    await assert.rejects(stat(`${lockPath}.takeover`), { code: 'ENOENT' });
  });

  it('respects a lock from another host, even if its pid does not exist here', async () => {
    const lockPath = freshLockPath();
    const text = await writeLock(lockPath, { pid: await deadPid(), host: 'node-b.example', since: '2026-11-28T01:00:00.000Z' });
    const holder = startHolder(lockPath);
    const answer = await holder.first;
    assert.equal(await holder.exit, 3);
    assert.equal(answer.code, 'LOCKED');
    assert.match(answer.message!, /node-b\.example/);
    assert.match(answer.message!, /another host/);
    assert.equal(await readFile(lockPath, 'utf8'), text);
  });

  it('leaves a lock behind when its holder is killed, and the next process takes it over', async () => {
    const lockPath = freshLockPath();
    const victim = startHolder(lockPath);
    assert.equal((await victim.first).status, 'locked');
    victim.child.kill('SIGKILL');
    await victim.exit;
    assert.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, victim.child.pid);

    const next = startHolder(lockPath);
    assert.equal((await next.first).status, 'locked');
    await releaseHolder(next);
  });
});
