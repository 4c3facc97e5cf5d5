/**
 * The ingress misbehaves; the real CLI (`gather --ship`) must retry what is worth retrying, give up in bounded
 * time, exit 1, keep the tarball in <output>/failed/, and leave the state where the failed collection starts.
 * Waits between retries are kept short with `Retry-After: 0` where the case allows it (the backoff's 1 s base
 * has no CLI seam); the cases that need the plain backoff use `ship.retries: 1` (one wait of at most 1 s).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startIngress, type TestIngress } from '../helpers/ingress.js';
import { closedPort, cli, listTree, makeProject, midnightDaysAgo, requireBuild, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const UNTIL = midnightDaysAgo(0);
const BEFORE = midnightDaysAgo(2);
/** Each case must end well inside this, retries included: "exits in bounded time". */
const BOUND = { timeout: 20_000 };

const projects: Project[] = [];
const ingresses: TestIngress[] = [];
before(() => requireBuild());
after(async () => {
  await Promise.all(ingresses.map((i) => i.close()));
  await Promise.all(projects.map((p) => p.cleanup()));
});

async function ingress(options: Parameters<typeof startIngress>[0] = {}): Promise<TestIngress> {
  const started = await startIngress(options);
  ingresses.push(started);
  return started;
}

/**
 * A project shipping to `url` with a previous state (`j` and `k` gathered up to BEFORE). Collector `j` is in
 * the default group; with `two`, collector `k` is in group `other`, so the run makes two tarballs.
 */
async function project(ship: Record<string, unknown>, two = false): Promise<Project> {
  const p = await makeProject({ ship: { contentType: CONTENT_TYPE, timeoutMs: 2000, retries: 1, ...ship } });
  projects.push(p);
  await p.collector('j.mjs', jsonSource('j', { rows: [1, 2, 3] }));
  if (two) await p.collector('k.mjs', jsonSource('k', { rows: [4, 5] }, { group: 'other' }));
  await p.writeState({ lastGather: BEFORE, entries: { j: BEFORE, k: BEFORE } });
  return p;
}

/** The retry waits the CLI logged, in ms. */
const waitsOf = (stderr: string): number[] => [...stderr.matchAll(/"retryInMs":(\d+)/g)].map((m) => Number(m[1]));

const ship = (p: Project) => cli(['gather', '--ship', '--until', UNTIL], { cwd: p.dir });

/** After a failed upload: tarballs in failed/, nothing temporary left, the lock released, the state not past the failure. */
async function assertFailedCleanly(p: Project, failedTarballs: number): Promise<void> {
  const failed = await readdir(join(p.output, 'failed'));
  assert.equal(failed.filter((n) => n.endsWith('.tar.gz')).length, failedTarballs, `failed/ holds ${failed.join(', ')}`);
  const outside = (await readdir(p.output)).filter((n) => n !== 'failed');
  assert.deepEqual(outside, [], 'no tarball (or partial file) is left in the output directory itself');
  assert.deepEqual(await listTree(p.tmp), [], 'tmpDir is empty');
  assert.ok(!(await listTree(p.dir)).some((f) => f.endsWith('.lock')), 'the lock is released');
  const state = await p.readState();
  assert.equal(state?.entries.j, BEFORE, 'entries.j stays where the failed collection starts');
}

// Independent cases (own ingress, own project): run a few at once, they mostly wait.
describe('ingress faults through the CLI', { concurrency: 4 }, () => {
  it('a hanging ingress: each attempt times out after ship.timeoutMs, is retried, then the run exits 1', BOUND, async () => {
    const ing = await ingress();
    // ship.timeoutMs bounds the whole attempt, sending included: long enough that each upload reaches the
    // ingress on a loaded machine, short enough to keep the test quick.
    const p = await project({ url: ing.url, timeoutMs: 1500 });
    ing.misbehave('hang', 'hang');
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 2, 'one attempt and one retry');
    assert.match(run.stderr, /timed out/);
    assert.match(run.stderr, /gave up after 2 attempts/);
    await assertFailedCleanly(p, 1);
  });

  it('a connection reset is retried, and the retry succeeds', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url });
    ing.misbehave('reset');
    const run = await ship(p);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ing.requests.length, 2);
    assert.equal(ing.requests[1]!.status, 202);
    assert.match(run.stderr, /retry 1 of 1/);
    const state = await p.readState();
    assert.equal(state?.entries.j, UNTIL, 'the accepted collection advances its key');
    assert.equal(state?.lastGather, UNTIL);
    assert.deepEqual(await readdir(p.output), [], 'the shipped tarball is deleted');
  });

  it('resets on every attempt: retried, then exit 1', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url });
    ing.misbehave('reset', 'reset');
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 2);
    assert.match(run.stderr, /ECONNRESET|EPIPE|socket hang up/);
    await assertFailedCleanly(p, 1);
  });

  it('a 5xx storm with Retry-After: 0 is retried ship.retries times, then exit 1', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url, retries: 3 });
    ing.misbehave(
      { status: 503, retryAfter: '0' },
      { status: 502, retryAfter: '0' },
      { status: 504, retryAfter: '0' },
      { status: 500, retryAfter: '0' },
    );
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 4, 'first attempt + 3 retries');
    assert.match(run.stderr, /HTTP 500/);
    assert.match(run.stderr, /gave up after 4 attempts/);
    assert.deepEqual(waitsOf(run.stderr), [0, 0, 0], 'Retry-After: 0 means no wait');
    await assertFailedCleanly(p, 1);
  });

  it('a 5xx storm that passes: the retry that gets 202 counts, exit 0', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url, retries: 3 });
    ing.misbehave({ status: 503, retryAfter: '0' }, { status: 429, retryAfter: '0' });
    const run = await ship(p);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(ing.requests.length, 3);
    assert.equal((await p.readState())?.entries.j, UNTIL);
  });

  it('a 5xx storm without Retry-After waits the backoff (full jitter under 1 s), then exit 1', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url, retries: 1 });
    ing.misbehave({ status: 503 }, { status: 503 });
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 2);
    const waits = waitsOf(run.stderr);
    assert.equal(waits.length, 1);
    assert.ok(waits[0]! < 1000, `the first backoff is under 1 s, got ${waits[0]}`);
    await assertFailedCleanly(p, 1);
  });

  it('a Retry-After longer than 5 minutes makes the failure final at once', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url, retries: 3 });
    ing.misbehave({ status: 503, retryAfter: '301' });
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 1);
    assert.match(run.stderr, /retry after 301 s/);
    await assertFailedCleanly(p, 1);
  });

  for (const status of [413, 415, 401, 403] as const) {
    it(`HTTP ${status}: one attempt, a message naming the status, exit 1`, BOUND, async () => {
      const ing = await ingress(status === 413 ? { maxBytes: 16 } : {});
      const p = await project(
        {
          url: ing.url,
          retries: 3,
          // Valid for our configuration, but the ingress only takes application/vnd.redhat.…
          ...(status === 415 ? { contentType: 'application/vnd.acme.payload+tgz' } : {}),
        },
        true,
      );
      if (status === 401 || status === 403) ing.misbehave({ status, body: 'credentials rejected' });
      const run = await ship(p);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`HTTP ${status}`));
      if (status === 401 || status === 403) {
        assert.equal(ing.requests.length, 1, 'after a 401/403 nothing more is uploaded');
        assert.match(run.stderr, /rejected the credentials/);
      } else {
        assert.equal(ing.requests.length, 2, 'one attempt per tarball, no retries');
      }
      await assertFailedCleanly(p, 2);
      assert.equal((await p.readState())?.entries.k, BEFORE);
    });
  }

  it('a tarball over ship.uploadLimit is not sent: the message names its size, the limit and its largest members', BOUND, async () => {
    const ing = await ingress();
    const p = await project({ url: ing.url, uploadLimit: 64 });
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 0);
    assert.match(run.stderr, /over ship\.uploadLimit 64 bytes/);
    assert.match(run.stderr, /largest members: .*j\.json/);
    await assertFailedCleanly(p, 1);
  });

  it('connection refused (nothing listens on the port): retried, then exit 1', BOUND, async () => {
    const port = await closedPort();
    const p = await project({ url: `http://127.0.0.1:${port}/api/ingress/v1/upload` });
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /ECONNREFUSED/);
    assert.match(run.stderr, /gave up after 2 attempts/);
    await assertFailedCleanly(p, 1);
  });

  it('the token endpoint fails with 5xx: retried, nothing uploaded, exit 1', BOUND, async () => {
    const ing = await ingress({ auth: { mode: 'service-account', clientId: 'fault-client', clientSecret: 'fault-secret-1' } });
    const p = await project({
      url: ing.url,
      auth: 'service-account',
      tokenUrl: ing.tokenUrl,
      clientId: 'fault-client',
      clientSecret: 'fault-secret-1',
    });
    ing.misbehaveToken({ status: 503, retryAfter: '0' }, { status: 500, retryAfter: '0' });
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.tokenRequests.length, 2);
    assert.equal(ing.requests.length, 0, 'no upload without a token');
    assert.match(run.stderr, /the token endpoint http:\/\/127\.0\.0\.1:\d+\/auth\/token answered HTTP 500/);
    assert.deepEqual(waitsOf(run.stderr), [0], "the token endpoint's Retry-After is honoured like the ingress's");
    await assertFailedCleanly(p, 1);
  });

  it('the token endpoint rejects the client: one token request, nothing uploaded, exit 1', BOUND, async () => {
    const ing = await ingress({ auth: { mode: 'service-account', clientId: 'fault-client', clientSecret: 'right-secret' } });
    const p = await project(
      { url: ing.url, auth: 'service-account', tokenUrl: ing.tokenUrl, clientId: 'fault-client', clientSecret: 'wrong-secret', retries: 3 },
      true,
    );
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.tokenRequests.length, 1, 'a rejected client is not asked again');
    assert.equal(ing.requests.length, 0);
    assert.match(run.stderr, /check ship\.clientId and ship\.clientSecret/);
    await assertFailedCleanly(p, 2);
  });

  it('the token endpoint hangs: each token request times out, then exit 1', BOUND, async () => {
    const ing = await ingress({ auth: { mode: 'service-account', clientId: 'fault-client', clientSecret: 'fault-secret-1' } });
    const p = await project({
      url: ing.url,
      auth: 'service-account',
      tokenUrl: ing.tokenUrl,
      clientId: 'fault-client',
      clientSecret: 'fault-secret-1',
      timeoutMs: 300,
      retries: 1,
    });
    ing.misbehaveToken('hang', 'hang');
    const run = await ship(p);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(ing.requests.length, 0);
    assert.match(run.stderr, /timed out talking to the token endpoint/);
    await assertFailedCleanly(p, 1);
  });
});
