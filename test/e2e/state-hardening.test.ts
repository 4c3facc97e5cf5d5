/**
 * Issue 12 through the real CLI, the state and paths side: future positions (defect 5), keys named like
 * Object.prototype members (6), `--output`/`tmpDir` that cannot be directories (7), a symlinked state, a BOM and
 * a symlinked lock (8), leftovers of a killed run (10), the lock heartbeat and lockStaleMs (12).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdir, readdir, readFile, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, listTree, runCli, type Project } from '../helpers/fault-cli.js';
import { jsonSource, marker, waitingSource } from '../helpers/fault-collectors.js';
import { UPLOAD_PATH } from '../helpers/ingress.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const fixtures = cliFixtures({ ingress: true });
const { project } = fixtures;

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
/** A collector module that leaves a file behind when it is loaded: proof that collector code ran. */
const tattleSource = (file: string): string =>
  `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(file)}, 'loaded');\n${jsonSource('jobs', { n: 1 }).replace(/^import .*\n/, '')}`.replace(
    /^/,
    "import { register } from 'analytics-collect';\n",
  );

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

describe('future positions (defect 5)', () => {
  it('an entry in 2031 is damage naming the key and the fix; the state is untouched', async () => {
    const p = await project();
    await p.collector('h.mjs', jsonSource('host', { n: 1 }));
    await p.writeState({ lastGather: '2026-11-20T00:00:00.000Z', entries: { host: '2031-01-01T00:00:00.000Z' } });
    const before = await readFile(p.stateFile, 'utf8');
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(`state file ${p.stateFile} is damaged: entries["host"] is 2031-01-01T00:00:00.000Z, more than 5 minutes in the future`), run.stderr);
    assert.ok(run.stderr.includes('analytics-collect state set host DATE'), run.stderr);
    assert.equal(await readFile(p.stateFile, 'utf8'), before);
    assert.ok(!(await listTree(p.dir)).some((f) => f.startsWith('out')), 'nothing gathered');
  });

  it('a lastGather in the future is damage too', async () => {
    const p = await project();
    await p.writeState({ lastGather: '2031-01-01T00:00:00.000Z', entries: {} });
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /"lastGather" is 2031-01-01T00:00:00\.000Z, more than 5 minutes in the future/);
  });
});

describe('keys named like Object.prototype members (defect 6, the state)', () => {
  it('constructor, toString, valueOf, hasOwnProperty gather, ship and round-trip through the state file', async () => {
    const p = await project({ ship: { url: `${fixtures.shared.origin}${UPLOAD_PATH}`, contentType: CONTENT_TYPE } });
    const keys = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'];
    for (const key of keys) await p.collector(`${key}.mjs`, jsonSource(key, { key }));
    const first = await cli(['gather', '--ship', '--json'], { cwd: p.dir });
    assert.equal(first.code, 0, first.stderr);
    const state = await p.readState();
    for (const key of keys) assert.match(state!.entries[key] ?? '', /^\d{4}-\d\d-\d\dT/, `entries.${key} written`);
    // The next run starts each key where the state says.
    const second = await cli(['gather', '--json'], { cwd: p.dir });
    assert.equal(second.code, 0, second.stderr);
    const report = JSON.parse(second.stdout) as { collections: { key: string; since: string }[] };
    for (const key of keys) assert.equal(report.collections.find((c) => c.key === key)?.since, state!.entries[key], key);
  });
});

describe('--output and tmpDir that cannot be directories (defect 7)', { concurrency: 4 }, () => {
  const cases: [string, (p: Project) => Promise<{ args: string[]; path: string; fragment: string }>][] = [
    ['--output naming a file', async (p) => {
      await writeFile(join(p.dir, 'afile'), 'x');
      return { args: ['--output', 'afile'], path: join(p.dir, 'afile'), fragment: 'is a file, not a directory' };
    }],
    ['--output /dev/null', async () => ({ args: ['--output', '/dev/null'], path: '/dev/null', fragment: 'is a character device, not a directory' })],
    ['an output path that cannot be created', async (p) => {
      await writeFile(join(p.dir, 'afile'), 'x');
      return { args: ['--output', 'afile/out'], path: join(p.dir, 'afile/out'), fragment: `cannot be created: ${join(p.dir, 'afile')} is a file` };
    }],
    ['a tmpDir under a file', async (p) => {
      await writeFile(join(p.dir, 'afile'), 'x');
      await p.configure({ tmpDir: './afile/tmp' });
      return { args: [], path: join(p.dir, 'afile/tmp'), fragment: 'cannot be created' };
    }],
    ['tmpDir /dev/null', async (p) => {
      await p.configure({ tmpDir: '/dev/null' });
      return { args: [], path: '/dev/null', fragment: 'is a character device, not a directory' };
    }],
    ['a tmpDir where nothing can be created (/proc)', async (p) => {
      await p.configure({ tmpDir: '/proc/analytics-tmp' });
      return { args: [], path: '/proc/analytics-tmp', fragment: 'cannot be' };
    }],
  ];
  for (const [what, arrange] of cases) {
    it(`${what}: exit 2 naming the path, before any collector module is loaded`, async () => {
      const p = await project();
      const tattle = join(p.dir, 'collector-ran');
      await p.collector('j.mjs', tattleSource(tattle));
      const { args, path, fragment } = await arrange(p);
      const run = await cli(['gather', ...args], { cwd: p.dir });
      assert.equal(run.code, 2, run.stderr);
      assert.ok(run.stderr.includes(path) && run.stderr.includes(fragment), run.stderr);
      assert.doesNotMatch(run.stderr, /unexpected error|EEXIST|ENOTDIR|\n\s+at /);
      assert.ok(!(await listTree(p.dir)).includes('collector-ran'), 'no collector module was loaded');
    });
  }
});

describe('files that are not what they seem (defect 8)', () => {
  it('a symlinked state file stays a link; its target is replaced', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    await p.writeState({ lastGather: null, entries: { jobs: '2026-11-20T00:00:00.000Z' } });
    await mkdir(join(p.dir, 'real'));
    const target = join(p.dir, 'real', 'state.json');
    await rename(p.stateFile, target);
    await symlink(target, p.stateFile);
    const run = await cli(['state', 'set', 'jobs', '2026-11-25T00:00:00Z'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    assert.ok((await lstat(p.stateFile)).isSymbolicLink(), 'the link stays');
    assert.equal(JSON.parse(await readFile(target, 'utf8')).entries.jobs, '2026-11-25T00:00:00.000Z');
    assert.deepEqual(await readdir(join(p.dir, 'real')), ['state.json'], 'no temporary file left');
  });

  it('a state with a UTF-8 byte order mark is read', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    await p.writeState({ lastGather: null, entries: { jobs: '2026-11-20T00:00:00.000Z' } });
    await writeFile(p.stateFile, `\uFEFF${await readFile(p.stateFile, 'utf8')}`);
    const run = await cli(['gather', '--json', '--since', '2026-11-25'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
  });

  it('a damaged state is never quoted', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    await p.writeState({ lastGather: null, entries: {} });
    await writeFile(p.stateFile, '{"version":1,"lastGather":"root:$6$SECRETHASH","entries":{}}');
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.doesNotMatch(run.stderr + run.stdout, /SECRETHASH|root:/);
    assert.match(run.stderr, /"lastGather" is a string of 18 characters, not an ISO 8601 date/);
  });

  it('a lock symlinked to another file is refused without following or quoting it', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    await p.writeState({ lastGather: null, entries: {} });
    const shadow = join(p.dir, 'shadow');
    await writeFile(shadow, 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
    await symlink(shadow, p.lockFile);
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(`the lock file ${p.lockFile} is a symbolic link`), run.stderr);
    assert.doesNotMatch(run.stderr + run.stdout, /SECRETHASH|root:/);
    assert.equal(await readFile(shadow, 'utf8'), 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
  });
});

describe('leftovers of a killed run (defect 10)', () => {
  it('the next run that takes the lock removes the run directory and .partial files of a dead process, not a live one', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    const dead = join(p.tmp, `analytics-collect-run-${await deadPid()}-abcDEF`);
    const live = join(p.tmp, `analytics-collect-run-${process.pid}-xyzXYZ`);
    const foreign = join(p.tmp, 'someone-else');
    for (const dir of [dead, live, foreign]) await mkdir(join(dir, 'jobs-1'), { recursive: true });
    await writeFile(join(dead, 'jobs-1', 'big.csv'), 'x'.repeat(1 << 20));
    await mkdir(p.output, { recursive: true });
    const partial = join(p.output, '.analytics-2026-11-28-013306+0000-0.tar.gz.0123456789ab.partial');
    await writeFile(partial, 'half a tarball');
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    const tmp = (await readdir(p.tmp)).sort();
    assert.deepEqual(tmp, [`analytics-collect-run-${process.pid}-xyzXYZ`, 'someone-else'].sort());
    assert.ok(!(await readdir(p.output)).some((f) => f.endsWith('.partial')));
  });

  it('after SIGKILL mid-run, the next gather leaves no run directory or .partial behind', async () => {
    const p = await project();
    await p.collector('a.mjs', jsonSource('jobs', { n: 1 }));
    await p.collector('w.mjs', waitingSource('wait', 'w'));
    const first = runCli(['gather'], { cwd: p.dir });
    await first.waitForStderr(marker('w'));
    assert.ok((await readdir(p.tmp)).some((f) => f.startsWith('analytics-collect-run-')), 'the killed run had its directory');
    first.child.kill('SIGKILL');
    await first.exit;
    await p.collector('w.mjs', jsonSource('wait', { n: 2 }));
    const second = await cli(['gather'], { cwd: p.dir });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await readdir(p.tmp), []);
    assert.ok(!(await readdir(p.output)).some((f) => f.endsWith('.partial')));
  });
});

describe('the lock heartbeat and lockStaleMs (defect 12)', () => {
  async function foreignLock(p: Project, ageMs: number): Promise<void> {
    await mkdir(join(p.dir, 'state'), { recursive: true });
    await writeFile(p.lockFile, `${JSON.stringify({ pid: 1, host: 'old-container-hostname', since: '2026-11-01T00:00:00.000Z' })}\n`);
    const at = new Date(Date.now() - ageMs);
    await utimes(p.lockFile, at, at);
  }

  it('a lock from another host not refreshed for lockStaleMs is taken over with a warning naming its holder', async () => {
    const p = await project({ lockStaleMs: 60000 });
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    await foreignLock(p, 120_000);
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /took over the lock .*state\.json\.lock from pid 1 on host old-container-hostname since 2026-11-01T00:00:00\.000Z: not refreshed for \d+ s \(lockStaleMs 60000\)/);
    assert.ok(!(await listTree(p.dir)).some((f) => f.endsWith('.lock')), 'released at the end');
  });

  it('a fresh lock from another host is respected (exit 3), also with the default lockStaleMs', async () => {
    const p = await project();
    await p.collector('j.mjs', jsonSource('jobs', { n: 1 }));
    await foreignLock(p, 9 * 60_000);
    const run = await cli(['gather'], { cwd: p.dir });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /pid 1 on host old-container-hostname/);
  });
});
