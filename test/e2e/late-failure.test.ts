/**
 * A collector whose code fails after it returned (contract §2: a stray rejection from a timer it left behind),
 * through the real CLI: while the run is going, that collection is failed in the `--json` report and in the
 * summary, and the state does not advance past it — also when a mid-run save had already moved it further.
 * What it had returned is packed (and shipped) when the failure comes after its turn to be placed, and not
 * packed when it comes before. Every wait is on an event (a file appearing, a failure reported), never a sleep.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliFixtures } from '../helpers/cli-fixtures.js';
import { cleanEnv, cli, midnightDaysAgo } from '../helpers/fault-cli.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const UNTIL = midnightDaysAgo(0);
const FIRST = midnightDaysAgo(2);
const SECOND = midnightDaysAgo(1);
const BOUND = { timeout: 30_000 };
const LATE_ERROR = /^failed after it returned: unhandled rejection: late failure \(at collectors\/[a-z]+\.mjs:\d+:\d+\)$/;

const fixtures = cliFixtures();
const { project } = fixtures;

interface JsonDoc {
  tarballs: { path: string; members: string[]; shipped: boolean }[];
  collections: { key: string; status: string; since: string; until: string; tarballs: string[]; error: string | null }[];
}

/** A promise shared by the project's collectors (one process): opened once the late failure was reported. */
const GATE = `const gate = (globalThis.__lateGate ??= (() => {
  let open;
  const opened = new Promise((resolve) => { open = resolve; });
  return { opened, open };
})());
/** Rejects with nobody listening (the late failure), then opens the gate once the rejection was reported. */
const failLate = () => {
  void Promise.reject(new Error('late failure'));
  setImmediate(gate.open);
};
`;

const HEAD = `import { register } from 'analytics-collect';\nimport { readdirSync, readFileSync } from 'node:fs';\n`;

/**
 * Key \`late\`, two daily slices from the key's entry. The first returns its data, then fails once \`ready\` (a
 * JavaScript expression) is true — after its turn to be placed; the second waits for that failure.
 */
const slicedLateSource = (ready: string): string => `${HEAD}${GATE}
const DAY = 86400000;
const slicing = function* ({ lastEntry, until }) {
  for (let s = lastEntry.getTime(); s < until.getTime(); s += DAY) yield [new Date(s), new Date(s + DAY)];
};
export const c = register({ key: 'late', version: '1.0', slicing }, async (ctx) => {
  if (ctx.since.toISOString() === ${JSON.stringify(FIRST)}) {
    const timer = setInterval(() => {
      if (!(${ready})) return;
      clearInterval(timer);
      failLate();
    }, 10);
    return { slice: 1 };
  }
  await gate.opened;
  return { slice: 2 };
});
`;

describe('a collector that fails after it returned, while the run goes on', () => {
  it('before its turn to be placed: failed in --json and the summary, nothing of it packed, exit 1', BOUND, async () => {
    const p = await project();
    // `slow` comes first in the plan and waits for the failure, so `late` cannot be placed before it.
    await p.collector('a.mjs', `${HEAD}${GATE}export const c = register({ key: 'slow', version: '1.0' }, async () => { await gate.opened; return { ok: true }; });\n`);
    await p.collector('b.mjs', `${HEAD}${GATE}export const c = register({ key: 'late', version: '1.0' }, async () => {\n  setTimeout(failLate, 1);\n  return { ok: true };\n});\n`);
    const result = await cli(['gather', '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as JsonDoc;
    const late = doc.collections.find((c) => c.key === 'late');
    assert.equal(late?.status, 'failed', result.stdout);
    assert.match(late.error ?? '', LATE_ERROR);
    assert.deepEqual(late.tarballs, [], 'nothing of it is packed');
    assert.equal(doc.collections.find((c) => c.key === 'slow')?.status, 'ok');
    assert.equal(doc.tarballs.length, 1);
    const { members } = doc.tarballs[0]!;
    assert.ok(members.some((m) => m.endsWith('slow.json')), members.join(', '));
    assert.ok(!members.some((m) => m.endsWith('late.json')), members.join(', '));
    assert.match(result.stderr, /collector "late" failed after it returned: unhandled rejection: late failure/);
    assert.match(result.stderr, /Failed collectors:\n {2}late \([^)]*\): failed after it returned: unhandled rejection: late failure/);
  });

  it('after its slice was packed: that slice is failed in --json, its tarball keeps what it returned', BOUND, async () => {
    const p = await project();
    await p.writeState({ lastGather: FIRST, entries: { late: FIRST } });
    const out = JSON.stringify(p.output);
    await p.collector('late.mjs', slicedLateSource(`readdirSync(${out}).some((f) => f.endsWith('.tar.gz'))`));
    const result = await cli(['gather', '--until', UNTIL, '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as JsonDoc;
    const [first, second] = doc.collections;
    assert.equal(first?.since, FIRST);
    assert.equal(first.status, 'failed', result.stdout);
    assert.match(first.error ?? '', LATE_ERROR);
    assert.equal(first.tarballs.length, 1, 'the tarball written before the failure is still listed');
    assert.equal(second?.status, 'ok');
    assert.match(result.stderr, /Failed collectors:\n {2}late \([^)]*\): failed after it returned/);
  });

  it('after a mid-run save moved the state past it: the final state goes back to it, the next run gathers it again', BOUND, async () => {
    const ing = await fixtures.ingress();
    const p = await project({ ship: { url: ing.url, contentType: CONTENT_TYPE, retries: 0 } });
    await p.writeState({ lastGather: FIRST, entries: { late: FIRST } });
    // The first slice fails once the state, saved as the run goes, says its upload was accepted.
    const saved = `(() => { try { return JSON.parse(readFileSync(${JSON.stringify(p.stateFile)}, 'utf8')).entries.late === ${JSON.stringify(SECOND)}; } catch { return false; } })()`;
    await p.collector('late.mjs', slicedLateSource(saved));
    const result = await cli(['gather', '--ship', '--until', UNTIL, '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as JsonDoc;
    assert.deepEqual(doc.collections.map((c) => c.status), ['failed', 'ok'], result.stdout);
    assert.ok(doc.tarballs.every((t) => t.shipped), 'what it returned was shipped before it failed');
    assert.equal((await p.readState())?.entries.late, FIRST, 'the state does not advance past the failed slice');
    assert.match(result.stderr, /The state advanced only for what the ingress accepted/);

    // The window is gathered again: a possible duplicate, never a loss.
    await p.collector('late.mjs', `${HEAD}const DAY = 86400000;
const slicing = function* ({ lastEntry, until }) {
  for (let s = lastEntry.getTime(); s < until.getTime(); s += DAY) yield [new Date(s), new Date(s + DAY)];
};
export const c = register({ key: 'late', version: '1.0', slicing }, async (ctx) => ({ since: ctx.since.toISOString() }));
`);
    const again = await cli(['gather', '--ship', '--until', UNTIL, '--json'], { cwd: p.dir, env: cleanEnv() });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual((JSON.parse(again.stdout) as JsonDoc).collections.map((c) => c.since), [FIRST, SECOND]);
    assert.equal((await p.readState())?.entries.late, UNTIL);
  });
});
