/**
 * The built CLI, spawned: a dry-run gather of a small collectors folder — paths on stdout, the JSON document of
 * contract §7 with --json, exit 1 with a failing collector (its status row says failed, the rest is packed) — and
 * exit 2 with a one-line message for each kind of usage error.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { readTarball } from '../../src/pack/read-tarball.js';
import { REPO, runCli } from '../helpers/fault-cli.js';

/** Runs the built CLI to its end in `cwd`, with a clean environment (no ANALYTICS_*, NO_COLOR). */
const cli = (args: string[], cwd: string) => runCli(args, { cwd }).exit;


const CONFIG = `import { register } from 'analytics-collect';
export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({ product: 'cli-test' }));
`;
const HOST = `import { register } from 'analytics-collect';
export const host = register({ key: 'host', version: '1.1' }, async (ctx) => ({ until: ctx.until.toISOString() }));
`;
const EVENTS = `import { join } from 'node:path';
import { CsvFileSplitter, register } from 'analytics-collect';
const DAY = 86_400_000;
function* twoDays({ until }: { until: Date }) {
  const end = Math.floor(until.getTime() / DAY) * DAY;
  yield [new Date(end - 2 * DAY), new Date(end - DAY)] as [Date, Date];
  yield [new Date(end - DAY), new Date(end)] as [Date, Date];
}
export const events = register({ key: 'events', version: '2.0', format: 'csv', slicing: twoDays }, async (ctx) => {
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'events.csv'), maxFileSize: ctx.maxDataSize, columns: ['day'] });
  await out.write([ctx.since.toISOString()]);
  return out.close();
});
`;
const BROKEN = `import { register } from 'analytics-collect';
export const jobs = register({ key: 'jobs', version: '1.0' }, async () => { throw new Error('database unreachable'); });
`;

let root: string;
/** A project whose collectors all work. */
let good: string;
/** The same plus a collector that throws. */
let failing: string;

async function project(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'collectors'), { recursive: true });
  // package.json marks the project root: the configuration search stops here.
  await writeFile(join(dir, 'package.json'), '{}');
  await writeFile(join(dir, 'analytics.config.json'), JSON.stringify({ output: './out', tmpDir: './tmp' }));
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, 'collectors', file), text);
  return dir;
}

before(async () => {
  assert.ok(existsSync(join(REPO, 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build` first');
  root = await mkdtemp(join(tmpdir(), 'ac-cli-gather-'));
  good = await project('good', { 'config.ts': CONFIG, 'host.ts': HOST, 'events.ts': EVENTS });
  failing = await project('failing', { 'config.ts': CONFIG, 'host.ts': HOST, 'events.ts': EVENTS, 'jobs.mts': BROKEN });
});
after(() => rm(root, { recursive: true, force: true }));

describe('gather (dry run)', () => {
  it('prints one tarball path per line on stdout, JSON logs and the summary on stderr, exit 0', async () => {
    const run = await cli(['gather'], good);
    assert.equal(run.code, 0, run.stderr);
    const paths = run.stdout.trimEnd().split('\n');
    // host.json rides with the first slice's events.csv; the second slice gets its own tarball.
    assert.equal(paths.length, 2, run.stdout);
    for (const path of paths) {
      assert.match(path, /^\/.*\/out\/analytics-\d{4}-\d\d-\d\d-\d{6}\+0000-\d+\.tar\.gz$/);
      assert.ok(existsSync(path), path);
    }
    const lines = run.stderr.trimEnd().split('\n');
    const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
    assert.ok(json.some((r) => r.msg === 'gather finished'), run.stderr);
    assert.ok(!run.stderr.includes('\r') && !run.stderr.includes('\u001b['), 'no progress line, no colours without a terminal');
    assert.match(run.stderr.trimEnd(), /\nDry run: 3 collections \(3 ok\), 2 tarballs written \(.*\); window until .*$/);
  });

  it('exit 1 with a failing collector: --json says so, its status row says failed, the rest is packed', async () => {
    const run = await cli(['gather', '--json'], failing);
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['mode', 'since', 'until', 'tarballs', 'collections']);
    assert.equal(doc.mode, 'dry-run');
    assert.equal(doc.since, null);
    assert.match(String(doc.until), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const tarballs = doc.tarballs as Record<string, unknown>[];
    const collections = doc.collections as Record<string, unknown>[];
    for (const t of tarballs) assert.deepEqual(Object.keys(t).sort(), ['bytes', 'disposition', 'error', 'members', 'path', 'requestId', 'shipped']);
    for (const c of collections) assert.deepEqual(Object.keys(c).sort(), ['error', 'key', 'redaction', 'since', 'status', 'tarballs', 'until']);
    assert.deepEqual(
      collections.map((c) => [c.key, c.status]),
      [['host', 'ok'], ['jobs', 'failed'], ['events', 'ok'], ['events', 'ok']],
    );
    const jobs = collections.find((c) => c.key === 'jobs')!;
    // The error names the collector's own file and line (contract §2).
    assert.match(String(jobs.error), /^database unreachable \(at collectors\/jobs\.mts:\d+:\d+\)$/);
    assert.deepEqual(jobs.tarballs, []);
    assert.equal(tarballs.length, 2);
    assert.deepEqual(tarballs[0]!.members, ['host.json', 'events.csv', 'config.json', 'data_collection_status.csv', 'manifest.json']);
    assert.ok(tarballs.every((t) => t.shipped === false && t.requestId === null && t.error === null && (t.bytes as number) > 0));

    // The failed row rides in the first tarball closed after the failure: the first slice's.
    const first = await readTarball(String(tarballs[0]!.path));
    const rows = parse<Record<string, string>>((await first.read('data_collection_status.csv')).toString('utf8'), { columns: true });
    assert.deepEqual(rows.map((r) => [r.file_name, r.status]).sort(), [['events.csv', 'ok'], ['host.json', 'ok'], ['jobs.json', 'failed']]);
    assert.match(run.stderr, /Failed collectors:\n {2}jobs \(.*\): database unreachable/);
  });
});

describe('a collector that times out', () => {
  it('is abandoned: the run ends, and its open handles do not keep the process alive', async () => {
    const dir = await project('hanging', {
      'config.ts': CONFIG,
      'hang.ts': `import { register } from 'analytics-collect';
export const hang = register({ key: 'hang', version: '1.0' }, () => new Promise(() => { setInterval(() => {}, 60_000); }));
`,
    });
    await writeFile(join(dir, 'analytics.config.json'), JSON.stringify({ output: './out', tmpDir: './tmp', collectorTimeoutMs: 100 }));
    // The bound is the test's timeout: unless the CLI exits when done, the child lives as long as that interval.
    const run = await cli(['gather'], dir);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /hang \(.*\): timed out after 100 ms \(collectorTimeoutMs\)/);
  });
});

describe('usage errors: exit 2, one line naming the flag or key', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown flag', ['gather', '--shipp'], /^analytics-collect gather: unknown option '--shipp' \(did you mean --ship\?\)/],
    ['a bad date', ['gather', '--since', '2026-02-30'], /^analytics-collect: --since "2026-02-30" has no such day; use an ISO 8601 date/],
    ['an unknown --only key', ['gather', '--only', 'host,nope'], /^analytics-collect: --only: unknown key nope; known keys: /],
    ['a bad configuration', ['gather', '--config', 'bad.config.json'], /^analytics-collect: .*bad\.config\.json: gzipLevel must be an integer from 1 to 9, got 12$/],
  ];
  before(() => writeFile(join(good, 'bad.config.json'), JSON.stringify({ gzipLevel: 12 })));
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const run = await cli(args, good);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      const lines = run.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, message);
    });
  }
});
