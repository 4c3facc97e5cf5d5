/**
 * `list` through the real CLI: the collectors in the order a gather runs them (contract §3) — the config
 * collector first, then json collectors, then csv ones, each in collector order — whatever order they are defined in.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONFIG_COLLECTOR, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';

const csv = (key: string): string => `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { register } from 'analytics-collect';
export const ${key} = register({ key: '${key}', version: '1.0', format: 'csv' }, async (ctx) => {
  const file = join(ctx.outputDir, '${key}.csv');
  await writeFile(file, 'n\\n1\\n');
  return file;
});\n`;
const json = (key: string): string => `import { register } from 'analytics-collect';
export const ${key} = register({ key: '${key}', version: '1.0' }, async () => ({ n: 1 }));\n`;

describe('list', () => {
  let project: Project;

  before(async () => {
    requireBuild();
    project = await makeProject();
    // Defined in this order by file name: a (csv), b (json), c (csv), d (json), and the config collector last.
    await rm(join(project.dir, 'collectors', '00-config.mjs'));
    await project.collector('a.mjs', csv('a'));
    await project.collector('b.mjs', json('b'));
    await project.collector('c.mjs', csv('c'));
    await project.collector('d.mjs', json('d'));
    await project.collector('zz-config.mjs', CONFIG_COLLECTOR);
  });
  after(() => project.cleanup());

  it('shows the collectors in the order gather runs them, as JSON and as a table', async () => {
    const listed = await cli(['list', '--json'], { cwd: project.dir });
    assert.equal(listed.code, 0, listed.stderr);
    const keys = (JSON.parse(listed.stdout) as { list: { key: string }[] }).list.map((c) => c.key);
    assert.deepEqual(keys, ['config', 'b', 'd', 'a', 'c']);

    const table = await cli(['list'], { cwd: project.dir });
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(rows, ['config', 'b', 'd', 'a', 'c']);

    // The same order as the run's: a dry run places the collections in it (contract §3).
    const gathered = await cli(['gather', '--json'], { cwd: project.dir });
    assert.equal(gathered.code, 0, gathered.stderr);
    const report = JSON.parse(gathered.stdout) as { tarballs: { members: string[] }[] };
    const placed = report.tarballs.flatMap((t) => t.members).filter((m) => /^[a-d]\./.test(m)).map((m) => m.split('.')[0]);
    assert.deepEqual(['config', ...placed], keys);
  });
});
