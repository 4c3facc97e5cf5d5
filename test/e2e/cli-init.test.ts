/**
 * `init` then `gather` with the built CLI, in a fresh directory with no node_modules: the starter project gathers
 * at once. `init` over existing files writes nothing and exits 2. Also `--version` and `--help` of the binary.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTarball } from '../../src/pack/read-tarball.js';
import { REPO, runCli } from '../helpers/fault-cli.js';

/** Runs the built CLI to its end in `cwd`, with a clean environment (no ANALYTICS_*, NO_COLOR). */
const cli = (args: string[], cwd: string) => runCli(args, { cwd }).exit;


let root: string;
before(async () => {
  assert.ok(existsSync(join(REPO, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build` first');
  root = await mkdtemp(join(tmpdir(), 'ac-cli-init-'));
  // A project root above DIR, so the configuration search cannot wander out of the temporary directory.
  await writeFile(join(root, 'package.json'), '{}');
});
after(() => rm(root, { recursive: true, force: true }));

describe('init', () => {
  it('writes a starter project that gathers at once, with no npm install in it', async () => {
    const init = await cli(['init', 'starter'], root);
    assert.equal(init.code, 0, init.stderr);
    const dir = join(root, 'starter');
    assert.deepEqual(init.stdout.trimEnd().split('\n'), [
      join(dir, 'analytics.config.json'),
      join(dir, 'collectors', 'config.ts'),
      join(dir, 'collectors', 'example.ts'),
    ]);
    assert.match(init.stderr, /Next: cd starter && analytics-collect check && analytics-collect gather/);
    const config = JSON.parse(await readFile(join(dir, 'analytics.config.json'), 'utf8')) as Record<string, unknown>;
    assert.match(String(config.$schema), /analytics\.config\.schema\.json$/);
    // A relative path to the schema this CLI ships: an editor resolves it offline.
    assert.match(String(config.$schema), /^\.\.?\//);
    assert.ok(existsSync(resolve(dir, String(config.$schema))), `${String(config.$schema)} resolves from ${dir}`);
    assert.equal(existsSync(join(dir, 'node_modules')), false);

    const gather = await cli(['gather'], dir);
    assert.equal(gather.code, 0, gather.stderr);
    const paths = gather.stdout.trimEnd().split('\n');
    assert.equal(paths.length, 1, gather.stdout);
    assert.equal(dirname(paths[0]!), join(dir, 'analytics-out'));
    const tarball = await readTarball(paths[0]!);
    assert.deepEqual(tarball.members.map((m) => m.name), ['host.json', 'config.json', 'data_collection_status.csv', 'manifest.json']);
    assert.deepEqual(JSON.parse((await tarball.read('manifest.json')).toString('utf8')), {
      'host.json': '1.0',
      'config.json': '1.0',
      'data_collection_status.csv': '1.0',
    });
  });

  it('writes nothing and exits 2 when one of its files exists', async () => {
    const dir = join(root, 'taken');
    await mkdir(join(dir, 'collectors'), { recursive: true });
    await writeFile(join(dir, 'collectors', 'example.ts'), '// mine\n');
    const init = await cli(['init', dir], root);
    assert.equal(init.code, 2, init.stderr);
    assert.equal(init.stdout, '');
    assert.equal(init.stderr.trimEnd().split('\n').length, 1, init.stderr);
    assert.match(init.stderr, /^analytics-collect: init writes nothing: .*collectors\/example\.ts already exists; choose another DIR/);
    assert.deepEqual((await readdir(dir)).sort(), ['collectors']);
    assert.deepEqual(await readdir(join(dir, 'collectors')), ['example.ts']);
    assert.equal(await readFile(join(dir, 'collectors', 'example.ts'), 'utf8'), '// mine\n');
  });
});

describe('the binary', () => {
  it('--version prints the package version; gather --help its examples', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const [version, help] = await Promise.all([cli(['--version'], root), cli(['gather', '--help'], root)]);
    assert.equal(version.code, 0);
    assert.equal(version.stdout, `${pkg.version}\n`);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Examples:\n {2}\$ analytics-collect gather /);
  });
});
