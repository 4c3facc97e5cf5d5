/**
 * Peak memory of `gather` (issue 16, src/memory.ts): V8's young generation stays at its first size for the whole
 * run, also when a TypeScript collector started the module-hooks thread (a worker thread puts V8's flags back to
 * their defaults). A collector churns through survivors the way a long run does, then reports the size of the
 * new space it runs in; without the flag V8 would have grown it to 16 or 32 MiB. Another keeps objects long
 * enough to be promoted, then drops them: the old generation grows by 20 % after each major GC, not by 2× or
 * more, so the heap stays near what is alive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliFixtures } from '../helpers/cli-fixtures.js';
import { cli } from '../helpers/fault-cli.js';
import { readTarball } from '../../src/pack/read-tarball.js';

const fixtures = cliFixtures();

const CHURN = `import { getHeapSpaceStatistics } from 'node:v8';
import { register } from 'analytics-collect';

interface Kept { i: number; text: string }

export const heap = register({ key: 'heap', version: '1.0' }, async () => {
  let kept: Kept[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    const item: Kept = { i, text: 'row ' + i };
    if (i % 3 === 0) kept.push(item);
    if (kept.length > 200_000) kept = [];
    if (i % 100_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return { newSpaceBytes: space?.space_size ?? null, kept: kept.length };
});
`;

/** Batches of small objects, the last 16 kept (about 10 MiB alive): each batch is promoted, then dies. */
const PROMOTED = `import { getHeapStatistics } from 'node:v8';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { register } from 'analytics-collect';

interface Kept { i: number; j: number; text: string }

export const heap = register({ key: 'heap', version: '1.0' }, async () => {
  let majorGcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry.detail as { kind: number }).kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
  });
  observer.observe({ entryTypes: ['gc'] });
  let maxHeapTotal = 0;
  const ring: Kept[][] = [];
  for (let i = 0; i < 250; i++) {
    const batch: Kept[] = [];
    for (let j = 0; j < 10_000; j++) batch.push({ i, j, text: 'row ' + j + ' of ' + i });
    ring.push(batch);
    if (ring.length > 16) ring.shift();
    maxHeapTotal = Math.max(maxHeapTotal, getHeapStatistics().total_heap_size);
    if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  observer.disconnect();
  return { maxHeapTotal, majorGcs, kept: ring.length };
});
`;

const MIB = 1024 * 1024;

describe('memory of a gather run', () => {
  it('keeps the young generation at its first size, also with a TypeScript collector', async () => {
    const p = await fixtures.project();
    await p.collector('heap.ts', CHURN);
    const run = await cli(['gather', '--json'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { tarballs: { path: string }[] };
    const tarball = await readTarball(report.tarballs[0]!.path);
    const { newSpaceBytes } = JSON.parse((await tarball.read('heap.json')).toString('utf8')) as { newSpaceBytes: number };
    // Two semi-spaces of 1 MiB each (V8 may double the first 1 MiB once during start-up); 16 MiB ones without.
    assert.ok(newSpaceBytes <= 4 * 1024 * 1024, `new space ${newSpaceBytes} bytes`);
  });

  it('keeps the heap near what is alive when objects are promoted and dropped', async () => {
    const p = await fixtures.project();
    await p.collector('heap.ts', PROMOTED);
    const run = await cli(['gather', '--json'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { tarballs: { path: string }[] };
    const tarball = await readTarball(report.tarballs[0]!.path);
    const { maxHeapTotal, majorGcs } = JSON.parse((await tarball.read('heap.json')).toString('utf8')) as { maxHeapTotal: number; majorGcs: number };
    assert.ok(majorGcs >= 3, `${majorGcs} major GCs: the collector did not churn enough to show anything`);
    // With the old generation growing by 20 %: about 45 MiB on 2026-12-01's machines, 68–72 MiB on 2026-12-02's
    // (the same on builds of the day before; the collector's loop alone, outside gather, 61–65 MiB with these
    // flags). With V8's default growth: 120 MiB and more (the loop alone, 184 MiB on 2026-12-02).
    assert.ok(maxHeapTotal <= 96 * MIB, `heapTotal up to ${(maxHeapTotal / MIB).toFixed(1)} MiB after ${majorGcs} major GCs`);
  });
});
