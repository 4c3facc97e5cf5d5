/**
 * Which thread gets a core first (src/threads.ts, Linux): during `gather` every thread of the process but the
 * JavaScript one runs 10 nice levels lower (at most 19) — libuv's pool, V8's helpers, worker threads started
 * later — while a program using the library keeps its threads as they are.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readTarball } from '../../src/pack/read-tarball.js';
import { describe, it } from 'node:test';
import { cliFixtures } from '../helpers/cli-fixtures.js';
import { cli, REPO } from '../helpers/fault-cli.js';

/** Nice values of this process's threads, by thread id (field 19 of /proc/self/task/<tid>/stat). */
const NICE_OF_THREADS = `function niceOfThreads() {
  const { readdirSync, readFileSync } = require('node:fs');
  const nice = {};
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
      nice[tid] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    } catch {}
  }
  return nice;
}`;

const linux = process.platform === 'linux';

describe('the JavaScript thread gets the cores first', { skip: linux ? false : 'Linux only' }, () => {
  const fixtures = cliFixtures();

  it('during gather, every other thread runs 10 nice levels lower', async () => {
    const p = await fixtures.project();
    await p.collector(
      'threads.mjs',
      `import { createRequire } from 'node:module';
import { register } from 'analytics-collect';
const require = createRequire(import.meta.url);
${NICE_OF_THREADS}
export const threads = register({ key: 'threads', version: '1.0' }, async () => ({ pid: process.pid, nice: niceOfThreads() }));
`,
    );
    const run = await cli(['gather', '--json'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { tarballs: { path: string }[] };
    const tarball = await readTarball(report.tarballs[0]!.path, { keep: () => true });
    const { pid, nice } = JSON.parse((await tarball.read('threads.json')).toString('utf8')) as { pid: number; nice: Record<string, number> };
    const main = nice[String(pid)]!;
    const others = Object.entries(nice).filter(([tid]) => tid !== String(pid));
    assert.ok(others.length >= 4, `the thread pool and V8's helpers: ${JSON.stringify(nice)}`);
    for (const [tid, value] of others) assert.equal(value, Math.min(19, main + 10), `thread ${tid}: ${JSON.stringify(nice)}`);
  });

  it('a worker started later yields once online; without favourMainThread() nothing changes', () => {
    // In a process of its own: the threads of this test's process stay as they are.
    const program = `
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { favourMainThread, threadStarted } from ${JSON.stringify(`${REPO}/src/threads.ts`)};
const require = createRequire(import.meta.url);
${NICE_OF_THREADS}
const start = () => new Promise((resolve) => {
  const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
  worker.once('online', () => { threadStarted(); resolve(worker); });
});
const before = niceOfThreads();
const first = await start();
const library = niceOfThreads();
favourMainThread();
const second = await start();
const after = niceOfThreads();
await first.terminate();
await second.terminate();
console.log(JSON.stringify({ pid: process.pid, before, library, after }));
`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { cwd: REPO, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    type Nice = Record<string, number>;
    const { pid, before, library, after } = JSON.parse(result.stdout) as { pid: number; before: Nice; library: Nice; after: Nice };
    const main = before[String(pid)]!;
    for (const [tid, value] of Object.entries(library)) assert.equal(value, main, `library use, thread ${tid}: ${JSON.stringify(library)}`);
    const others = Object.entries(after).filter(([tid]) => tid !== String(pid));
    assert.ok(others.length > Object.keys(before).length - 1, 'the workers are among them');
    assert.equal(after[String(pid)], main);
    for (const [tid, value] of others) assert.equal(value, Math.min(19, main + 10), `thread ${tid}: ${JSON.stringify(after)}`);
  });
});
