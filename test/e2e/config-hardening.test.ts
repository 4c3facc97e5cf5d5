/**
 * Issue 12, defects 1 and 11 through the real CLI: an empty or `null` configuration file and a duration past the
 * longest timer Node.js keeps are configuration errors (exit 2) naming the file and the key, before anything runs.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, listTree, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const fixtures = cliFixtures();

async function project(): Promise<Project> {
  const p = await fixtures.project();
  await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
  return p;
}

/** Nothing gathered, no lock, no state. */
async function assertNothingRan(p: Project): Promise<void> {
  const tree = await listTree(p.dir);
  assert.ok(!tree.some((f) => f.startsWith('out') || f.startsWith('state')), `nothing was written: ${tree.join(', ')}`);
}

describe('empty and null configuration files (issue 12, defect 11)', { concurrency: 4 }, () => {
  for (const [name, text, why] of [
    ['empty', '', 'is empty'],
    ['blank', ' \n\t\n', 'is empty'],
    ['null', 'null', 'holds null'],
  ] as const) {
    it(`a found ${name} file: gather exits 2 naming it`, async () => {
      const p = await project();
      await writeFile(p.configFile, text);
      const run = await cli(['gather'], { cwd: p.dir });
      assert.equal(run.code, 2, run.stderr);
      assert.ok(run.stderr.includes(`configuration file ${p.configFile}: ${why}; write {} for every default`), run.stderr);
      assert.equal(run.stdout, '');
      await assertNothingRan(p);
    });
  }

  it('an empty file given with --config: exit 2 naming it, also with --json', async () => {
    const p = await project();
    const file = join(p.dir, 'other.json');
    await writeFile(file, '');
    const run = await cli(['gather', '--config', file, '--json'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(`--config ${file}: is empty`) || run.stdout.includes(`--config ${file}: is empty`), run.stderr);
    await assertNothingRan(p);
  });

  it('{} is every default', async () => {
    const p = await project();
    await writeFile(p.configFile, '{}');
    const run = await cli(['list'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
  });
});

describe('durations past 2^31-1 ms (issue 12, defect 1)', { concurrency: 4 }, () => {
  for (const [key, settings] of [
    ['collectorTimeoutMs', { collectorTimeoutMs: 2592000000 }],
    ['ship.timeoutMs', { ship: { timeoutMs: 2592000000 } }],
    ['lockStaleMs', { lockStaleMs: 2592000000 }],
    ['coordination.timeoutMs', { coordination: { timeoutMs: 2592000000 } }],
  ] as const) {
    it(`${key}: 2592000000 is exit 2 naming the key and the bound, nothing runs`, async () => {
      const p = await project();
      await p.configure(settings);
      const run = await cli(['gather'], { cwd: p.dir });
      assert.equal(run.code, 2, run.stderr);
      assert.ok(run.stderr.includes(`${p.configFile}: ${key} must be an integer from`), run.stderr);
      assert.ok(run.stderr.includes('to 2147483647 (milliseconds), got 2592000000'), run.stderr);
      assert.doesNotMatch(run.stderr, /TimeoutOverflowWarning/);
      await assertNothingRan(p);
    });
  }
});
