/**
 * Peak memory of `gather` (issue 16): V8's young generation stays at its first size for the whole run, also
 * when a TypeScript collector started the module-hooks thread (a worker thread puts V8's flags back to their
 * defaults). A collector churns through survivors the way a long run does, then reports the size of the new
 * space it runs in; without the flag V8 would have grown it to 16 or 32 MiB.
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
});
