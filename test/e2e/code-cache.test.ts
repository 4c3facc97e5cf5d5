/**
 * The bin compiles the bundled CLI with a V8 code cache (bin/analytics-collect, scripts/build.ts): one entry per
 * command under `<cache>/v8/`, written by the first run, used by the next; a damaged entry or one V8 rejects is
 * written again, entries of other builds go, `ANALYTICS_CACHE_DIR=off` writes none — and the output never changes.
 * The packages only some commands use are chunks beside cli.cjs, loaded on first use, each with its own entry;
 * `list` and `state` load none of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { cachedProject, wordHelper } from '../helpers/cli-fixtures.js';
import { cli, REPO, type Project } from '../helpers/fault-cli.js';
import { RUN_FLAGS } from '../../src/memory.js';

const COLLECTOR = `import { register } from 'analytics-collect';
import { word } from './_word.js';
export const words = register({ key: 'words', version: '1.0', description: word }, async () => ({ word }));
`;

describe('the code cache of the bundled CLI', () => {
  const fixture = cachedProject({ collectors: { '_word.ts': wordHelper('cached'), 'words.ts': COLLECTOR } });
  let project: Project;
  let cache: string;
  // Each test starts from an empty cache folder.
  beforeEach(async () => {
    ({ project, cache } = fixture);
    await rm(cache, { recursive: true, force: true });
    await mkdir(cache);
  });

  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const result = await cli(args, { cwd: project.dir, env: fixture.env(env) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    return result.stdout;
  };
  const entries = async (): Promise<string[]> => (await readdir(join(cache, 'v8')).catch(() => [])).sort();
  /** The entries' names without the build, Node version and architecture: `gather.bin`, `gather.tar.bin`… */
  const entryNames = async (): Promise<string[]> => (await entries()).map((name) => name.replace(/^[0-9a-f]{32}-[^-]+-[^-]+-/, ''));

  it('writes one entry per command, and the next runs print the same from it', async () => {
    const first = await run(['list', '--json']);
    assert.match(first, /"description":"cached"/);
    const [entry, ...more] = await entries();
    assert.ok(entry !== undefined && more.length === 0, `one entry: ${[entry, ...more].join(', ')}`);
    assert.match(entry, new RegExp(`^[0-9a-f]{32}-${process.version}-${process.arch}-list\\.bin$`));
    const written = await readFile(join(cache, 'v8', entry));
    assert.equal(await run(['list', '--json']), first);
    assert.deepEqual(await readFile(join(cache, 'v8', entry)), written, 'an accepted entry is not written again');

    await run(['state', '--json']);
    assert.deepEqual((await entries()).map((name) => name.replace(/^.*-/, '')), ['list.bin', 'state.bin']);
  });

  it("gather's entry is taken by the next gather: the lean heap's flags are set before the bundle is compiled", async () => {
    // V8 keys an entry by its flags; gather sets keepHeapLean's (src/memory.ts) during the run, so an entry written at
    // exit under other flags than the bin's at start would be rejected and written again at every run.
    const gather = async (): Promise<void> => {
      const result = await cli(['gather', '--json'], { cwd: project.dir, env: fixture.env() });
      assert.equal(result.code, 0, result.stderr);
    };
    await gather();
    const entry = (await entries()).find((name) => name.endsWith('-gather.bin'));
    assert.ok(entry !== undefined, `a gather entry: ${(await entries()).join(', ')}`);
    const written = await readFile(join(cache, 'v8', entry));
    await gather();
    assert.deepEqual(await readFile(join(cache, 'v8', entry)), written, 'an accepted entry is not written again');
  });

  it('the bin sets the flags gather sets again (src/memory.ts RUN_FLAGS) before it compiles the bundle', async () => {
    const bin = await readFile(join(REPO, 'bin', 'analytics-collect'), 'utf8');
    const set = [...bin.matchAll(/setFlagsFromString\('([^']+)'\)/g)].map((match) => match[1]);
    assert.deepEqual(set, [...RUN_FLAGS]);
  });

  it('a damaged entry is not used and is written again; entries of another build go', async () => {
    const first = await run(['list', '--json']);
    const [entry] = await entries();
    await writeFile(join(cache, 'v8', entry!), Buffer.alloc(4096, 7));
    await writeFile(join(cache, 'v8', `${'0'.repeat(32)}-${process.version}-${process.arch}-list.bin`), 'an older build');
    assert.equal(await run(['list', '--json']), first);
    assert.deepEqual(await entries(), [entry]);
    assert.notDeepEqual(await readFile(join(cache, 'v8', entry!)), Buffer.alloc(4096, 7));
    assert.equal(await run(['list', '--json']), first);
  });

  /** Which files of dist/bundle/ a run loaded (Node's CommonJS cache at exit, where the bin puts each one). */
  const loadedBy = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; loaded: string[] }> => {
    const report = join(project.dir, 'loaded.json');
    const preload = join(project.dir, 'report-loaded.cjs');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`,
    );
    const stdout = await run(args, { NODE_OPTIONS: `--require ${preload}`, ...env });
    // Only CommonJS modules are listed: dist/bundle/index.js, the ES module collectors import, is not.
    const bundle = join(REPO, 'dist', 'bundle');
    const loaded = (JSON.parse(await readFile(report, 'utf8')) as string[]).filter((file) => file.startsWith(`${bundle}/`));
    return { stdout, loaded: loaded.map((file) => file.slice(bundle.length + 1)).sort() };
  };

  /** The project's tarballs, gathered (a dry run) the first time. */
  const gathered = async (): Promise<string[]> => {
    const existing = async (): Promise<string[]> =>
      (await readdir(project.output).catch(() => [])).filter((name) => name.endsWith('.tar.gz')).map((name) => join(project.output, name));
    if ((await existing()).length === 0) {
      const result = await cli(['gather', '--json'], { cwd: project.dir, env: fixture.env() });
      assert.equal(result.code, 0, result.stderr);
    }
    const tarballs = await existing();
    assert.ok(tarballs.length > 0, 'gather wrote a tarball');
    return tarballs;
  };

  it('list and state load no chunk; inspect loads tar and csv-parse, each with an entry of its own that the next run takes', async () => {
    assert.deepEqual((await loadedBy(['list', '--json'])).loaded, ['cli.cjs']);
    assert.deepEqual((await loadedBy(['state', '--json'])).loaded, ['cli.cjs']);
    assert.deepEqual((await loadedBy(['list', '--json'], { ANALYTICS_CACHE_DIR: 'off' })).loaded, ['cli.cjs']);

    const tarballs = await gathered();
    const first = await loadedBy(['inspect', '--json', ...tarballs]);
    assert.deepEqual(first.loaded, ['cli.cjs', 'csv-parse.cjs', 'tar.cjs']);
    assert.match(first.stdout, /words\.json/);
    const inspectEntries = async (): Promise<string[]> => (await entries()).filter((name) => /-inspect[.]/.test(name)).map((name) => name.replace(/^.*-inspect/, 'inspect'));
    assert.deepEqual(await inspectEntries(), ['inspect.bin', 'inspect.csv-parse.bin', 'inspect.tar.bin']);
    const tarEntry = (await entries()).find((name) => name.endsWith('-inspect.tar.bin'))!;
    const written = await readFile(join(cache, 'v8', tarEntry));
    assert.equal((await loadedBy(['inspect', '--json', ...tarballs])).stdout, first.stdout);
    assert.deepEqual(await readFile(join(cache, 'v8', tarEntry)), written, 'an accepted chunk entry is not written again');
    // The same build line on every file, which keys their entries.
    const line = (file: string): Promise<string> => readFile(join(REPO, 'dist', 'bundle', file), 'latin1').then((text) => text.slice(0, text.indexOf('\n')));
    assert.equal(await line('tar.cjs'), await line('cli.cjs'));
  });

  it('a program importing dist/bundle/main.js (cli.cjs by require, no code cache) loads the chunks too', async () => {
    const tarballs = await gathered();
    const expected = await run(['inspect', '--json', ...tarballs]);
    const program = [
      `const { runCli } = await import(${JSON.stringify(join(REPO, 'dist', 'bundle', 'main.js'))});`,
      `process.exitCode = await runCli(['node', 'analytics-collect', 'inspect', '--json', ...${JSON.stringify(tarballs)}]);`,
    ].join('\n');
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: project.dir, env: fixture.env(), encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, expected);
  });

  it('a run stopped by a usage error writes no entry; the next run that goes through does', async () => {
    const stopped = await cli(['list', '--collectors', join(project.dir, 'no-such-folder')], { cwd: project.dir, env: fixture.env() });
    assert.equal(stopped.code, 2, stopped.stderr);
    assert.deepEqual(await entries(), [], 'an entry of a run that compiled next to nothing would be kept for good');
    await run(['list', '--json']);
    assert.deepEqual((await entries()).map((name) => name.replace(/^.*-/, '')), ['list.bin']);
  });

  it('gather --ship has an entry of its own, beside the dry runs', async () => {
    // Nothing listens on port 1 of the loopback: the upload fails at once (exit 1), after the whole run.
    await project.configure({ ship: { url: 'http://127.0.0.1:1/upload', contentType: 'application/vnd.example.test+tgz', auth: 'none', retries: 0 } });
    try {
      const shipped = await cli(['gather', '--ship', '--json'], { cwd: project.dir, env: fixture.env() });
      assert.equal(shipped.code, 1, shipped.stderr);
      const dry = await cli(['gather', '--json'], { cwd: project.dir, env: fixture.env() });
      assert.equal(dry.code, 0, dry.stderr);
    } finally {
      await project.configure({});
    }
    const names = await entryNames();
    assert.ok(names.includes('gather+ship.bin') && names.includes('gather.bin'), names.join(', '));
    assert.ok(names.includes('gather+ship.got.bin') && !names.includes('gather.got.bin'), names.join(', '));
  });

  it('gather --only has an entry of its own: a first trial of one collector does not stand for whole runs', async () => {
    for (const args of [['--only', 'words'], ['--only=words'], []]) {
      const result = await cli(['gather', ...args, '--json'], { cwd: project.dir, env: fixture.env() });
      assert.equal(result.code, 0, result.stderr);
    }
    const names = await entryNames();
    // The bundle's entries, without those of its chunks (gather.tar.bin…).
    assert.deepEqual(names.filter((name) => /^gather[^.]*\.bin$/.test(name)).sort(), ['gather+only.bin', 'gather.bin']);
  });

  it('ANALYTICS_CACHE_DIR=off writes no entry', async () => {
    const off = await run(['list', '--json'], { ANALYTICS_CACHE_DIR: 'off' });
    assert.match(off, /"description":"cached"/);
    assert.deepEqual(await readdir(cache), []);
  });
});

describe("a long gather's code cache entry", () => {
  // A collector that makes V8 collect its old generation a few times (objects that live through scavenges).
  const CHURN = `import { register } from 'analytics-collect';
export const churn = register({ key: 'churn', version: '1.0' }, async () => {
  let kept = [];
  for (let round = 0; round < Number(process.env.CHURN_ROUNDS ?? 0); round++) {
    kept = [];
    for (let i = 0; i < 200000; i++) kept.push({ i, text: 'x' + i });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { rounds: Number(process.env.CHURN_ROUNDS ?? 0), kept: kept.length };
});
`;
  const fixture = cachedProject({ collectors: { 'churn.mjs': CHURN } });

  /** The size of the gather entry a first gather with `rounds` of churn writes into an empty cache. */
  const entryAfter = async (rounds: number): Promise<number> => {
    const { project, cache } = fixture;
    await rm(cache, { recursive: true, force: true });
    await mkdir(cache);
    const result = await cli(['gather', '--json'], { cwd: project.dir, env: fixture.env({ CHURN_ROUNDS: String(rounds) }) });
    assert.equal(result.code, 0, result.stderr);
    const entry = (await readdir(join(cache, 'v8'))).find((name) => name.endsWith('-gather.bin'));
    assert.ok(entry !== undefined, 'a gather entry');
    return (await readFile(join(cache, 'v8', entry))).length;
  };

  it('holds the start-up code too: V8 keeps the bytecode of the functions a run ran only at its start', async () => {
    // Without --no-flush-bytecode, the major GCs of a long run drop the bytecode of the start-up code (config,
    // loading the collectors), and the entry written at exit lacks it: about a third smaller.
    const quick = await entryAfter(0);
    const long = await entryAfter(8);
    assert.ok(long >= quick * 0.95, `the long run's entry holds ${long} bytes, the quick one's ${quick}`);
  });
});
