/**
 * The README's Quick start: `node bin/analytics-collect gather` in a clone runs a dry run of the example
 * collectors with the example configuration (analytics.config.json), writing tarballs to ./analytics-out. The
 * configuration is the repository's own file, so this checks it as committed: paths relative to it, the example
 * collectors, and a dry run in which every collection goes through (in a copy of the clone's files, so that the
 * test writes nothing into the repository).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli, REPO, requireBuild } from '../helpers/fault-cli.js';

interface ExampleConfig {
  collectors: string;
  output: string;
  stateFile: string;
  [key: string]: unknown;
}

/** Every string value of a JSON document, with its path. */
function strings(value: unknown, path = ''): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => strings(inner, path === '' ? key : `${path}.${key}`));
}

describe("the Quick start's dry run", () => {
  let clone: string;
  before(async () => {
    requireBuild();
    // The files the Quick start uses, as in a fresh clone; dependencies from this one.
    clone = await mkdtemp(join(tmpdir(), 'ac-quick-start-'));
    await cp(join(REPO, 'analytics.config.json'), join(clone, 'analytics.config.json'));
    await cp(join(REPO, 'collectors'), join(clone, 'collectors'), { recursive: true });
    await writeFile(join(clone, 'package.json'), JSON.stringify({ name: 'quick-start-copy', private: true, type: 'module' }));
    await symlink(join(REPO, 'node_modules'), join(clone, 'node_modules'), 'dir');
  });
  after(async () => {
    await rm(clone, { recursive: true, force: true });
  });

  it('uses the committed example configuration: the example collectors, every path relative to the file', async () => {
    const config = JSON.parse(await readFile(join(REPO, 'analytics.config.json'), 'utf8')) as ExampleConfig;
    assert.equal(config.collectors, './collectors');
    assert.equal(config.output, './analytics-out');
    for (const [key, value] of strings(config)) {
      assert.ok(!isAbsolute(value), `analytics.config.json: ${key} is ${value}, a path on one machine`);
    }
  });

  it('gathers every example collector into ./analytics-out', async () => {
    const run = await cli(['gather', '--json'], { cwd: clone });
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { mode: string; tarballs: { path: string }[]; collections: { key: string; status: string }[] };
    assert.equal(report.mode, 'dry-run');
    const failed = report.collections.filter((c) => c.status !== 'ok');
    assert.deepEqual(failed, [], 'every collection goes through');
    const keys = new Set(report.collections.map((c) => c.key));
    for (const key of ['host', 'events']) assert.ok(keys.has(key), `collector ${key}: ${[...keys].join(', ')}`);
    assert.ok(report.tarballs.length > 0);
    for (const { path } of report.tarballs) assert.ok(path.startsWith(join(clone, 'analytics-out')), path);
    assert.ok((await readdir(join(clone, 'analytics-out'))).some((name) => name.endsWith('.tar.gz')));
  });
});
