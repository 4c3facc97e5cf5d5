/**
 * Containment of collector code (contract §2), through the real CLI: whatever a collector, a module's top-level
 * code, a slicer or a packager does — `process.exit()`, a promise that never settles, a stray rejection, a
 * `console.log` — the run ends with the contract's exit code, names the culprit, keeps stdout for the result,
 * releases the lock and leaves no temporary file behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO, cli, exitWithin, listTree, runCli, type Project } from '../helpers/fault-cli.js';
import { jsonSource, marker } from '../helpers/fault-collectors.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const fixtures = cliFixtures();
const { project } = fixtures;

const HEAD = `import { register } from 'analytics-collect';\n`;
/** Far more than a run needs, far less than a hang: a process still running then is a failure. */
const DEADLINE_MS = 20_000;
/** collectorTimeoutMs for the hang cases: it also bounds loading each module, so not too short on a busy machine. */
const HANG_MS = 1000;

/** Nothing left behind: no lock, no temporary file, no partial tarball. */
async function assertClean(p: Project): Promise<void> {
  const files = await listTree(p.dir);
  assert.ok(!files.some((f) => f.endsWith('.lock')), `the lock is released: ${files.join(', ')}`);
  assert.ok(!files.some((f) => f.includes('.partial')), `no partial tarball: ${files.join(', ')}`);
  assert.deepEqual(await listTree(p.tmp), [], 'tmpDir is empty');
}

async function run(p: Project, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = runCli(args, { cwd: p.dir });
  const result = await exitWithin(child, DEADLINE_MS);
  assert.ok(result, `still running after ${DEADLINE_MS} ms; stderr:\n${child.stderr()}`);
  return result;
}

describe('containment of collector code through the CLI', { concurrency: 3 }, () => {
  it('process.exit(0) in a collector fails that collector (exit 1), the others are packed, the lock is released', async () => {
    const p = await project();
    await p.collector('a.mjs', jsonSource('alpha', { ok: true }));
    await p.collector('b.mjs', `${HEAD}export const c = register({ key: 'quitter', version: '1.0' }, async () => {\n  process.exit(0);\n});\n`);
    const result = await run(p, ['gather']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /quitter.*process\.exit\(0\) \(at collectors\/b\.mjs:3:11\)/);
    assert.equal(result.stdout.trim().split('\n').length, 1, 'the tarball of the others is written');
    await assertClean(p);
  });

  it('a top-level await that never settles: exit 2 naming the file after collectorTimeoutMs', async () => {
    // Loading is never timed out sooner than 5 s (our own start-up and TypeScript compilation count in it).
    const p = await project({ collectorTimeoutMs: HANG_MS });
    await p.collector('hang.mjs', `${HEAD}await new Promise(() => {});\n`);
    const result = await run(p, ['gather']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /collector module .*hang\.mjs failed to load: timed out after 5000 ms \(collectorTimeoutMs, at least 5 s for loading\)/);
    await assertClean(p);
  });

  it('a slicer that never yields fails its collector (exit 1) after collectorTimeoutMs', async () => {
    const p = await project({ collectorTimeoutMs: HANG_MS });
    await p.collector('a.mjs', jsonSource('alpha', { ok: true }));
    await p.collector(
      's.mjs',
      `${HEAD}export const c = register({ key: 'stuck', version: '1.0', format: 'csv', slicing: async function* () { await new Promise(() => {}); } }, async () => null);\n`,
    );
    const result = await run(p, ['gather', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { collections: { key: string; status: string; error: string | null }[] };
    const stuck = report.collections.find((c) => c.key === 'stuck');
    assert.equal(stuck?.status, 'failed');
    assert.ok(stuck?.error?.includes(`slicing of "stuck" failed: timed out after ${HANG_MS} ms`), stuck?.error ?? '');
    await assertClean(p);
  });

  it("a packager ship() that never settles fails that upload (exit 1); the tarball is kept in failed/", async () => {
    const p = await project({ collectorTimeoutMs: HANG_MS, packager: './packager.mjs', ship: { retries: 0 } });
    await writeFile(join(p.dir, 'packager.mjs'), 'export default { isShippingConfigured: () => true, ship: () => new Promise(() => {}) };\n');
    await p.collector('a.mjs', jsonSource('alpha', { ok: true }));
    const result = await run(p, ['gather', '--ship', '--json']);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stderr.includes(`ship() failed: timed out after ${HANG_MS} ms`), result.stderr);
    assert.equal((await readdir(join(p.output, 'failed'))).length, 1);
    const report = JSON.parse(result.stdout) as { until: string };
    assert.notEqual((await p.readState())?.entries.alpha, report.until, 'nothing was accepted: the state does not advance');
    await assertClean(p);
  });

  it('console.log in a collector goes to stderr: with --json, stdout is one JSON document', async () => {
    const p = await project();
    await p.collector(
      'a.mjs',
      `${HEAD}export const c = register({ key: 'chatty', version: '1.0' }, async () => {\n  console.log('hello from a collector');\n  console.info({ rows: 3 });\n  return { ok: true };\n});\n`,
    );
    const result = await run(p, ['gather', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { collections: { key: string; status: string }[] };
    assert.equal(report.collections.find((c) => c.key === 'chatty')?.status, 'ok');
    assert.match(result.stderr, /hello from a collector/);
    await assertClean(p);
  });

  it('a rejection with Object.create(null) fails that collector with a readable message', async () => {
    const p = await project();
    await p.collector('a.mjs', jsonSource('alpha', { ok: true }));
    await p.collector('b.mjs', `${HEAD}export const c = register({ key: 'odd', version: '1.0' }, async () => { throw Object.create(null); });\n`);
    const result = await run(p, ['gather', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { collections: { key: string; status: string; error: string | null }[] };
    const odd = report.collections.find((c) => c.key === 'odd');
    assert.equal(odd?.status, 'failed');
    assert.match(odd?.error ?? '', /not an Error/);
    assert.doesNotMatch(result.stderr, /unexpected error/);
    await assertClean(p);
  });

  it('an unhandled rejection after a collector returned: named, exit 1, never a crash', async () => {
    const p = await project();
    // The rejection comes from a timer the collector left behind; a second collector keeps the run going until it
    // was reported (both share a promise on globalThis). What the report and the state make of it: late-failure.test.ts.
    const gate = `const gate = (globalThis.__gate ??= (() => { let open; const opened = new Promise((r) => { open = r; }); return { opened, open }; })());\n`;
    await p.collector(
      'a.mjs',
      `${HEAD}${gate}export const c = register({ key: 'late', version: '1.0' }, async () => {\n  setTimeout(() => { Promise.reject(new Error('late failure')); setImmediate(gate.open); }, 1);\n  return { ok: true };\n});\n`,
    );
    await p.collector('b.mjs', `${HEAD}${gate}export const c = register({ key: 'slow', version: '1.0' }, async () => { await gate.opened; return { ok: true }; });\n`);
    const result = await run(p, ['gather', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as { collections: { key: string; status: string }[] };
    assert.deepEqual(doc.collections.map((c) => [c.key, c.status]), [['late', 'failed'], ['slow', 'ok']]);
    assert.match(result.stderr, /collector "late" failed after it returned: unhandled rejection: late failure \(at collectors\/a\.mjs:4:/);
    assert.doesNotMatch(result.stderr, /unexpected error/);
    await assertClean(p);
  });

  it('a TypeScript collector error names its TypeScript line; -v adds the stack', async () => {
    const p = await project();
    await p.collector(
      't.ts',
      `${HEAD}interface Row {\n  id: number;\n}\n\ntype Rows = Row[];\nexport const c = register({ key: 'typed', version: '1.0' }, async () => {\n  const rows: Rows = [];\n  throw new Error('no rows: ' + rows.length);\n});\n`,
    );
    const plain = await run(p, ['gather']);
    assert.equal(plain.code, 1, plain.stderr);
    assert.match(plain.stderr, /typed.*no rows: 0 \(at collectors\/t\.ts:9:9\)/);
    assert.doesNotMatch(plain.stderr, /"stack"/);
    const verbose = await run(p, ['gather', '-v']);
    assert.equal(verbose.code, 1, verbose.stderr);
    assert.match(verbose.stderr, /"stack":"Error: no rows: 0\\n {4}at .*t\.ts:9:9/);
    await assertClean(p);
  });

  it('a JavaScript syntax error is reported with its line and column (exit 2)', async () => {
    const p = await project();
    await p.collector('bad.mjs', `${HEAD}export const x = {\n  a: 1\n  b: 2,\n};\n`);
    const result = await run(p, ['list']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /bad\.mjs failed to load: SyntaxError at line 4, column 3: Unexpected identifier 'b'/);
  });

  it('SIGHUP stops the run like SIGTERM: exit 129, nothing left behind', async () => {
    const p = await project();
    await p.collector(
      'w.mjs',
      `${HEAD}export const c = register({ key: 'waiting', version: '1.0' }, (ctx) => new Promise((resolve, reject) => {\n  ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });\n  ctx.logger.warn(${JSON.stringify(marker('waiting'))});\n}));\n`,
    );
    const child = runCli(['gather'], { cwd: p.dir });
    await child.waitForStderr(marker('waiting'));
    child.child.kill('SIGHUP');
    const result = await exitWithin(child, DEADLINE_MS);
    assert.ok(result, `still running after SIGHUP; stderr:\n${child.stderr()}`);
    assert.equal(result.code, 129, result.stderr);
    assert.match(result.stderr, /SIGHUP received/);
    await assertClean(p);
  });

  // The state's maps without Object.prototype come with the state store (config helper) and the state advance
  // (run helper); until both are on main: todo.
  const prototypeSafeState = ['file-store.ts', 'advance.ts'].every((name) => {
    const file = join(REPO, 'src', 'state', name);
    return existsSync(file) && readFileSync(file, 'utf8').includes('Object.create(null)');
  });
  it('keys that are Object.prototype names, and a 100-character key, work end to end; 101 characters is exit 2', { todo: prototypeSafeState ? false : 'state maps without Object.prototype' }, async () => {
    const p = await project({ packager: './packager.mjs' });
    await writeFile(join(p.dir, 'packager.mjs'), `export default { isShippingConfigured: () => true, ship: async () => ({ ok: true, requestId: 'r' }) };\n`);
    const long = 'k'.repeat(100);
    const keys = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', long];
    const sliced = `slicing: (r) => { const s = r.lastEntry ?? r.lastGather; return s < r.until ? [[s, r.until]] : []; }`;
    await p.collector(
      'keys.mjs',
      HEAD +
        keys
          .map((key, i) =>
            i % 2 === 0
              ? `export const c${i} = register({ key: ${JSON.stringify(key)}, version: '1.0' }, async () => ({ i: ${i} }));\n`
              : `export const c${i} = register({ key: ${JSON.stringify(key)}, version: '1.0', format: 'csv', ${sliced} }, async (ctx) => {\n  const { writeFile } = await import('node:fs/promises');\n  await writeFile(ctx.outputDir + '/x.csv', 'n\\n${i}\\n');\n  return 'x.csv';\n});\n`,
          )
          .join(''),
    );
    const listed = await run(p, ['list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    for (const key of keys) assert.ok(listed.stdout.includes(JSON.stringify(key)), `list shows ${key}`);
    for (let round = 0; round < 2; round++) {
      const result = await run(p, ['gather', '--ship', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { collections: { key: string; status: string }[] };
      for (const key of keys) assert.ok(report.collections.some((c) => c.key === key && c.status === 'ok'), `round ${round}: ${key} ok`);
    }
    const state = await p.readState();
    for (const key of keys) assert.equal(typeof state?.entries[key], 'string', `state entry for ${key}`);
    await assertClean(p);

    await p.collector('long.mjs', `${HEAD}export const c = register({ key: ${JSON.stringify(`${long}x`)}, version: '1.0' }, async () => 1);\n`);
    const refused = await run(p, ['list']);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /long\.mjs.*key is 101 characters long; at most 100/);
  });

  it('collectors under a path containing /node_modules/ load their TypeScript helpers', async () => {
    const p = await project();
    const dir = join(p.dir, 'node_modules', 'product', 'collectors');
    await mkdir(join(dir, 'lib'), { recursive: true });
    await writeFile(join(dir, '00-config.ts'), `import { register } from 'analytics-collect';\nimport { product } from './lib/product.js';\nexport const config = register({ key: 'config', version: '1.0', config: true }, async () => product());\n`);
    await writeFile(join(dir, 'lib', 'product.ts'), `import { version } from './version';\nexport const product = (): { name: string; version: string } => ({ name: 'p', version });\n`);
    await writeFile(join(dir, 'lib', 'version.ts'), `export const version: string = '2.0';\n`);
    await writeFile(join(dir, 'hosts.ts'), `import { register } from 'analytics-collect';\nimport { version } from './lib/version.js';\nexport const hosts = register({ key: 'hosts', version }, async () => ({ count: 1 }));\n`);
    const result = await cli(['gather', '--json', '--collectors', dir], { cwd: p.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { tarballs: unknown[] }).tarballs.length, 1);
    await assertClean(p);
  });
});
