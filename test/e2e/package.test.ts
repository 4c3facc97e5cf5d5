/**
 * The real package: `npm pack`, installed into an empty folder (no clone), then `init && gather && check` there.
 * The folder's node_modules is seeded with the runtime dependencies only (this repository's production closure),
 * and npm installs offline: no network, and nothing at run time may need a dev dependency.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cleanEnv, REPO, requireBuild } from '../helpers/fault-cli.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the packed package', () => {
  let root: string;
  let project: string;
  let bin: string;

  before(async () => {
    requireBuild();
    root = await mkdtemp(join(tmpdir(), 'ac-package-'));
    project = join(root, 'project');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'my-product-analytics', private: true }));
    const { stdout } = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: REPO });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    // The runtime closure only: what `npm install analytics-collect` would fetch from the registry. Read from the
    // lockfile (a worktree whose node_modules is a link to another checkout's makes `npm ls` see it as extraneous),
    // keeping what is installed here (optional packages of other platforms are not).
    const closure = (await run(NPM, ['ls', '--omit=dev', '--all', '--parseable', '--package-lock-only'], { cwd: REPO })).stdout
      .split('\n')
      .filter((line) => line.includes(`${REPO}/node_modules/`) && existsSync(line));
    for (const dir of closure) await cp(dir, join(project, relative(REPO, dir)), { recursive: true, verbatimSymlinks: true });
    await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', join(root, filename)], { cwd: project });
    bin = join(project, 'node_modules', '.bin', 'analytics-collect');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('holds the built CLI, the schema and the docs, not the sources or tests', async () => {
    const installed = join(project, 'node_modules', 'analytics-collect');
    const entries = await readdir(installed);
    for (const name of ['bin', 'dist', 'schema', 'package.json', 'README.md']) assert.ok(entries.includes(name), name);
    for (const name of ['src', 'test', 'bench', 'tsconfig.json']) assert.ok(!entries.includes(name), name);
    const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    for (const dev of Object.keys(manifest.devDependencies)) {
      assert.ok(!existsSync(join(project, 'node_modules', dev)), `dev dependency ${dev} was installed`);
    }
  });

  it('init && gather && check work from the installed package; $schema resolves offline', async () => {
    // The installed bin, as a user runs it (not this repository's).
    const exec = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await run(bin, args, { cwd: project, env: cleanEnv() });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const init = await exec('init');
    assert.equal(init.code, 0, init.stderr);
    const config = JSON.parse(await readFile(join(project, 'analytics.config.json'), 'utf8')) as { $schema: string };
    assert.equal(config.$schema, './node_modules/analytics-collect/schema/analytics.config.schema.json');
    const schema = JSON.parse(await readFile(resolve(project, config.$schema), 'utf8')) as { properties: Record<string, unknown> };
    assert.ok('collectors' in schema.properties);

    const gather = await exec('gather');
    assert.equal(gather.code, 0, gather.stderr);
    const [tarball] = gather.stdout.trim().split('\n');
    assert.ok(tarball !== undefined && existsSync(tarball), gather.stdout);
    assert.ok(tarball.startsWith(join(project, 'analytics-out')));

    const check = await exec('check');
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`^Config file: ${join(project, 'analytics.config.json')}$`, 'm'));
    assert.match(check.stdout, /^All fine/m);

    const inspect = await exec('inspect', tarball, '--json');
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(
      (JSON.parse(inspect.stdout) as { members: { name: string }[] }).members.map((m) => m.name),
      ['host.json', 'config.json', 'data_collection_status.csv', 'manifest.json'],
    );
  });
});
