/**
 * The defects of the first release's run, each driven through the real CLI (issue "The run, rebuilt"):
 * 1. collectors sharing a key: one failing a slice, or stopped by SIGTERM, never loses its window;
 * 2. what escapes a run (a collector rejecting with Object.create(null), a packager's tarballBase() failing for a
 *    second shipping group) still ends with the report, the summary and the state of what was accepted;
 * 4. with `keepFailed: 2` and five failures, the report says `pruned` for the three removed and `failed` for the
 *    two on disk;
 * 7. exit order: a future `--since` is a usage error (2) before "not configured" (4) and "locked" (3).
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { type TestIngress } from '../helpers/ingress.js';
import { cleanEnv, cli, midnightDaysAgo, runCli, type Project } from '../helpers/fault-cli.js';
import { jsonSource, marker, randomCsvSource, waitingSource } from '../helpers/fault-collectors.js';
import { cliFixtures } from '../helpers/cli-fixtures.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const DAY = 86_400_000;
const UNTIL = midnightDaysAgo(0);
const BEFORE = midnightDaysAgo(3);
const at = (days: number): string => new Date(Date.parse(BEFORE) + days * DAY).toISOString();
const BOUND = { timeout: 30_000 };

const fixtures = cliFixtures();

async function shipProject(extra: Record<string, unknown> = {}, ship: Record<string, unknown> = {}): Promise<{ p: Project; ing: TestIngress }> {
  const ing = await fixtures.ingress();
  const p = await fixtures.project({ ship: { url: ing.url, contentType: CONTENT_TYPE, retries: 0, ...ship }, ...extra });
  return { p, ing };
}

/**
 * A sliced json collector of key `events` (daily slices from the key's entry to `until`), named `who`. The
 * environment decides its misbehaviour: `FAIL_<WHO>` = the ISO since of a slice that throws, `WAIT_<WHO>` = 1 to
 * log its marker and wait for the signal on its first slice.
 */
const eventsSource = (who: string): string => `import { register } from 'analytics-collect';
const DAY = 86400000;
const slicing = function* ({ lastEntry, lastGather, until }) {
  for (let s = (lastEntry ?? lastGather).getTime(); s < until.getTime(); s = Math.min(s + DAY, until.getTime())) {
    yield [new Date(s), new Date(Math.min(s + DAY, until.getTime()))];
  }
};
export const ${who} = register({ key: 'events', version: '1.0', slicing }, (ctx) => {
  if (process.env.FAIL_${who.toUpperCase()} === ctx.since.toISOString()) throw new Error('${who} failed its slice');
  if (process.env.WAIT_${who.toUpperCase()} === '1') {
    return new Promise((resolve, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      ctx.logger.warn(${JSON.stringify(marker(who))});
    });
  }
  return { who: '${who}', since: ctx.since.toISOString() };
});
`;

interface JsonDoc {
  error?: string;
  tarballs: { path: string; shipped: boolean; disposition: string; error: string | null }[];
  collections: { key: string; status: string; since: string; error: string | null }[];
}

describe('defect 1: collectors sharing a key never lose a window', () => {
  it('B fails a slice after A got further: the key stays at B’s failed slice, and the next run gathers it', BOUND, async () => {
    const { p } = await shipProject();
    await p.writeState({ lastGather: BEFORE, entries: { events: BEFORE } });
    await p.collector('a.mjs', eventsSource('a'));
    await p.collector('b.mjs', eventsSource('b'));
    const first = await cli(['gather', '--ship', '--until', UNTIL, '--json'], { cwd: p.dir, env: cleanEnv({ FAIL_B: at(1) }) });
    assert.equal(first.code, 1, first.stderr);
    const doc = JSON.parse(first.stdout) as JsonDoc;
    assert.equal(doc.collections.filter((c) => c.status === 'failed').length, 1);
    assert.equal((await p.readState())?.entries.events, at(1), 'A’s later slices do not carry the key past B’s failure');

    const second = await cli(['gather', '--ship', '--until', UNTIL, '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(second.code, 0, second.stderr);
    const again = (JSON.parse(second.stdout) as JsonDoc).collections;
    assert.deepEqual(again.map((c) => c.since), [at(1), at(2), at(1), at(2)], 'both collectors gather from B’s failed slice on');
    assert.equal((await p.readState())?.entries.events, UNTIL);
  });

  it('SIGTERM while B runs, after A’s slices were accepted: B’s whole window is still owed', BOUND, async () => {
    const { p, ing } = await shipProject({ concurrency: 1 });
    await p.writeState({ lastGather: BEFORE, entries: { events: BEFORE } });
    await p.collector('a.mjs', eventsSource('a'));
    await p.collector('b.mjs', eventsSource('b'));
    const run = runCli(['gather', '--ship', '--until', UNTIL], { cwd: p.dir, env: cleanEnv({ WAIT_B: '1' }) });
    await run.waitForStderr(marker('b'));
    // A's three slices are uploaded and accepted before the signal.
    await run.waitForStderr(/(shipped analytics-[^\n]*\n[^]*){3}/);
    run.child.kill('SIGTERM');
    const { code, stderr } = await run.exit;
    assert.equal(code, 143, stderr);
    assert.equal(ing.requests.length, 3);
    assert.equal((await p.readState())?.entries.events, BEFORE, 'B made no progress: the key keeps its entry');
  });
});

describe('defect 2: what escapes a run still ends with the report, the summary and the state', () => {
  it('a collector rejecting with Object.create(null): that collector fails, the rest ship, the state moves', BOUND, async () => {
    const { p } = await shipProject();
    await p.collector(
      'bad.mjs',
      `import { register } from 'analytics-collect';\nexport const c = register({ key: 'bad', version: '1.0' }, async () => { throw Object.create(null); });\n`,
    );
    await p.collector('good.mjs', jsonSource('good', { ok: true }));
    const run = await cli(['gather', '--ship', '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as JsonDoc;
    const bad = doc.collections.find((c) => c.key === 'bad')!;
    assert.equal(bad.status, 'failed');
    assert.ok(bad.error && bad.error.length > 0);
    assert.ok(doc.tarballs.every((t) => t.shipped));
    assert.match(run.stderr, /Ship run: 2 collections/);
    const state = await p.readState();
    assert.ok(state?.entries.good, 'the accepted collection is in the state');
  });

  it('a packager tarballBase() failing for a second shipping group: exit 1, the report, the first group’s upload in the state', BOUND, async () => {
    const { p } = await shipProject({ packager: './packager.mjs' });
    await writeFile(join(p.dir, 'packager.mjs'), `export default { tarballBase: ({ shippingGroup }) => (shippingGroup === 'blue' ? 'blue' : undefined) };\n`);
    await p.writeState({ lastGather: BEFORE, entries: { ev: BEFORE } });
    await p.collector(
      'a.mjs',
      `import { register } from 'analytics-collect';
const slicing = ({ until }) => [[new Date(until.getTime() - 86400000), until]];
export const c = register({ key: 'ev', version: '1.0', shippingGroup: 'blue', slicing }, async () => ({ blue: 1 }));\n`,
    );
    await p.collector('b.mjs', jsonSource('green', { green: 1 }, { group: 'green' }));
    const run = await cli(['gather', '--ship', '--until', UNTIL, '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as JsonDoc;
    assert.match(doc.error ?? '', /tarballBase\(\) returned undefined/);
    assert.equal(doc.tarballs.length, 1);
    assert.equal(doc.tarballs[0]!.shipped, true);
    assert.match(basename(doc.tarballs[0]!.path), /^blue-0\.tar\.gz$/);
    assert.match(run.stderr, /The run stopped early: .*tarballBase/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    const state = await p.readState();
    assert.equal(state?.entries.ev, UNTIL, 'the accepted slice is in the state');
    assert.equal(state?.lastGather, BEFORE, 'the run did not reach its end');
  });
});

describe('defect 4: the disposition is what is on disk', () => {
  it('keepFailed 2 and five failed uploads: three pruned, two failed — exactly the two files in failed/', BOUND, async () => {
    const { p, ing } = await shipProject({ maxDataSize: 1000 }, { keepFailed: 2 });
    await p.collector('big.mjs', randomCsvSource('big', 5, 900));
    ing.misbehave(...Array.from({ length: 5 }, () => ({ status: 500, body: 'down' })));
    const run = await cli(['gather', '--ship', '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout) as JsonDoc;
    assert.deepEqual(doc.tarballs.map((t) => t.disposition), ['pruned', 'pruned', 'pruned', 'failed', 'failed']);
    const onDisk = (await readdir(join(p.output, 'failed'))).sort();
    assert.deepEqual(onDisk, doc.tarballs.filter((t) => t.disposition === 'failed').map((t) => basename(t.path)).sort());
    assert.equal((run.stderr.match(/kept in failed\//g) ?? []).length, 2, run.stderr);
    assert.equal((run.stderr.match(/not kept \(ship\.keepFailed\)/g) ?? []).length, 3);
  });
});

describe('defect 7: exit order — usage (2) before not configured (4) before locked (3)', () => {
  const future = new Date(Date.now() + 3 * DAY).toISOString();

  it('a future --since with shipping not configured is 2, not 4', async () => {
    const p = await fixtures.project();
    const run = await cli(['gather', '--ship', '--since', future], { cwd: p.dir, env: cleanEnv() });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--since .* is in the future/);
  });

  it('--since not before --until is 2, not 4', async () => {
    const p = await fixtures.project();
    const run = await cli(['gather', '--ship', '--since', at(2), '--until', at(1)], { cwd: p.dir, env: cleanEnv() });
    assert.equal(run.code, 2, run.stderr);
  });

  it('a future --since while another gather holds the lock is 2, not 3; then the lock is 3', BOUND, async () => {
    const p = await fixtures.project();
    await p.collector('w.mjs', waitingSource('w', 'holder'));
    const holder = runCli(['gather'], { cwd: p.dir, env: cleanEnv() });
    await holder.waitForStderr(marker('holder'));
    const early = await cli(['gather', '--since', future], { cwd: p.dir, env: cleanEnv() });
    assert.equal(early.code, 2, early.stderr);
    const locked = await cli(['gather'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(locked.code, 3, locked.stderr);
    holder.child.kill('SIGTERM');
    await holder.exit;
  });
});
