/**
 * Hostile and broken ingress answers, through the real CLI (contract §5): an endless 202 (peak RSS of the child
 * bounded), a 202 trickling one byte every 500 ms (wall time bounded by ship.timeoutMs), a 2xx then a reset
 * (uploaded exactly once), a 200 HTML page without a request id (a failure: kept in failed/, state not
 * advanced), escape sequences in an error body (shown escaped), credentials refused over plain http through a
 * proxy, placeholder URLs refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startIngress, startProxy, type Misbehaviour, type TestIngress, type TestProxy } from '../helpers/ingress.js';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const PEAK_RSS = fileURLToPath(new URL('../helpers/peak-rss.mjs', import.meta.url));
const MiB = 1024 * 1024;

let ingress: TestIngress;
let scratch: string;
const projects: Project[] = [];

before(async () => {
  requireBuild();
  ingress = await startIngress();
  scratch = await mkdtemp(join(tmpdir(), 'ac-answers-'));
});
after(async () => {
  await ingress.close();
  await Promise.all(projects.map((p) => p.cleanup()));
  await rm(scratch, { recursive: true, force: true });
});

async function project(ship: Record<string, unknown> = {}): Promise<Project> {
  const p = await makeProject({ ship: { url: ingress.url, contentType: CONTENT_TYPE, retries: 2, timeoutMs: 10_000, ...ship } });
  projects.push(p);
  await p.collector('alpha.mjs', jsonSource('alpha', { rows: [1, 2, 3] }));
  return p;
}

interface ShipRun {
  code: number;
  stdout: string;
  stderr: string;
  report: { tarballs: { path: string; shipped: boolean; requestId: string | null; error: string | null }[] };
  uploads: number;
  wallMs: number;
  peakRss: number;
}

/** `gather --ship --json` against the ingress answering `answers` (then normally); counts the uploads it saw. */
async function shipWith(p: Project, answers: Misbehaviour[], env: NodeJS.ProcessEnv = {}): Promise<ShipRun> {
  const before = ingress.requests.length;
  ingress.misbehave(...answers);
  const rssFile = join(scratch, `rss-${projects.indexOf(p)}-${Date.now()}`);
  const started = Date.now();
  const result = await cli(['gather', '--ship', '--json'], {
    cwd: p.dir,
    env: cleanEnv({ NODE_OPTIONS: `--import ${PEAK_RSS}`, PEAK_RSS_FILE: rssFile, ...env }),
  });
  const wallMs = Date.now() - started;
  const peakRss = Number(await readFile(rssFile, 'utf8').catch(() => '0'));
  const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
  return { ...result, report: JSON.parse(line ?? '{"tarballs":[]}') as ShipRun['report'], uploads: ingress.requests.length - before, wallMs, peakRss };
}

const failedDir = async (p: Project): Promise<string[]> => readdir(join(p.output, 'failed')).catch(() => []);

describe('broken 2xx answers are accepted once, with a warning, and read within bounds', () => {
  it('an endless 202 body: read to 1 MiB, accepted, the child stays small', async (t) => {
    const p = await project();
    const run = await shipWith(p, [{ status: 202, body: '{"request_id":"endless",', endless: true }]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.uploads, 1, 'uploaded exactly once');
    assert.match(run.stderr, /broke off: the answer is longer than 1048576 bytes; not retried/);
    t.diagnostic(`peak RSS of the child: ${(run.peakRss / MiB).toFixed(1)} MiB`);
    assert.ok(run.peakRss > 0 && run.peakRss < 200 * MiB, `peak RSS ${(run.peakRss / MiB).toFixed(0)} MiB`);
    assert.ok((await p.readState())?.entries.alpha, 'the state advanced');
  });

  it('a 202 trickling one byte every 500 ms: the attempt ends at ship.timeoutMs (3000), accepted, not retried', async (t) => {
    const p = await project({ timeoutMs: 3000 });
    const run = await shipWith(p, [{ status: 202, body: '{"request_id":"slow"}', trickleMs: 500 }]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.uploads, 1);
    assert.match(run.stderr, /did not end within 3000 ms \(ship\.timeoutMs\); not retried/);
    t.diagnostic(`wall time of the run: ${run.wallMs} ms`);
    // Without the bound the answer would never end (the trickle resets every idle timer); the margin is generous for a loaded machine.
    assert.ok(run.wallMs < 15_000, `took ${run.wallMs} ms`);
  });

  it('a 2xx then a reset: uploaded exactly once, accepted', async () => {
    const p = await project();
    const run = await shipWith(p, [{ status: 202, body: '{"request_id":"reset-1"', resetAfterBody: true }]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.uploads, 1, 'a broken 2xx is never retried');
    assert.deepEqual(await failedDir(p), []);
    assert.ok((await p.readState())?.entries.alpha);
  });
});

describe('answers that are failures', () => {
  it('a 200 HTML page without request_id: a final failure, kept in failed/, the state not advanced', async () => {
    const p = await project();
    const run = await shipWith(p, [{ status: 200, body: '<html><body>Please log in</body></html>', headers: { 'content-type': 'text/html' } }]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.uploads, 1, 'final at once, not retried');
    const error = run.report.tarballs[0]?.error ?? '';
    assert.match(error, /the ingress answered 200 but gave no request id: is ship\.url the upload endpoint\?/);
    assert.equal((await failedDir(p)).length, 1);
    // Not advanced: the collector is frozen where its window began (§4), four weeks back, not at this run's end.
    const entry = (await p.readState())?.entries.alpha;
    assert.ok(entry === undefined || Date.parse(entry) < Date.now() - 20 * 86_400_000, `entry ${entry}`);
  });

  it('ship.requireRequestId false accepts it', async () => {
    const p = await project({ requireRequestId: false });
    const run = await shipWith(p, [{ status: 200, body: '<html>ok</html>' }]);
    assert.equal(run.code, 0, run.stderr);
  });

  it('escape sequences in an error body reach no terminal: shown escaped, one line', async () => {
    const p = await project({ retries: 0 });
    const hostile = 'bad\u001b]0;pwned\u0007\u001b[2J\u001b[H\u001b]52;c;ZXZpbA==\u0007\u009b31m\r\nmore';
    const run = await shipWith(p, [{ status: 400, body: hostile }]);
    assert.equal(run.code, 1, run.stderr);
    for (const [name, text] of [['stdout', run.stdout], ['stderr', run.stderr]] as const) {
      assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text), `${name} holds a control character: ${JSON.stringify(text)}`);
    }
    assert.match(run.report.tarballs[0]?.error ?? '', /HTTP 400 .*: bad\\x1b\]0;pwned\\x07\\x1b\[2J/);
    // One clear line per failed upload: the tarball and the URL named once each.
    const messages = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg: string }).msg)
      .filter((m) => m.includes('HTTP 400'));
    assert.ok(messages.length >= 1, run.stderr);
    for (const m of messages) {
      assert.ok(m.split(ingress.url).length <= 2 && m.split('.tar.gz').length <= 2, `named twice: ${m}`);
    }
  });
});

describe('shipping not configured safely: exit 4 before anything runs', () => {
  let proxy: TestProxy;
  before(async () => {
    proxy = await startProxy();
  });
  after(() => proxy.close());

  for (const [name, ship, env] of [
    ['basic over http://127.0.0.1 with HTTP_PROXY', { auth: 'basic' }, (px: string) => ({ HTTP_PROXY: px, ANALYTICS_USERNAME: 'u-ser', ANALYTICS_PASSWORD: 'pw-proxy-test' })],
    ['identity over http://127.0.0.1 with ship.proxy', { auth: 'identity' }, (px: string) => ({ PROXY_IN_CONFIG: px, ANALYTICS_IDENTITY: 'eyJpZCI6MX0=' })],
    ['a loopback tokenUrl with HTTP_PROXY', { auth: 'service-account' }, (px: string) => ({ HTTP_PROXY: px, NO_PROXY: 'nothing.corp', ANALYTICS_CLIENT_ID: 'cid', ANALYTICS_CLIENT_SECRET: 'csecret' })],
  ] as const) {
    it(name, async () => {
      const extra = env(proxy.url);
      const viaConfig = 'PROXY_IN_CONFIG' in extra ? { proxy: extra.PROXY_IN_CONFIG } : {};
      const p = await project({ ...ship, ...viaConfig, tokenUrl: ingress.tokenUrl });
      const seen = ingress.requests.length;
      const result = await cli(['gather', '--ship'], { cwd: p.dir, env: cleanEnv(extra) });
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr, /clear text through the proxy http:\/\/127\.0\.0\.1:\d+/);
      assert.deepEqual(proxy.connects, [], 'the proxy saw nothing');
      assert.deepEqual(proxy.proxyAuthorizations, []);
      assert.equal(ingress.requests.length, seen);
      assert.equal(ingress.tokenRequests.length, 0);
    });
  }

  for (const url of ['https://ingress.example.com/api/ingress/v1/upload', 'https://console.example.org/x', 'https://ingress.test/up', 'https://x.invalid/up']) {
    it(`a placeholder ship.url (${url})`, async () => {
      const p = await project({ url });
      const result = await cli(['gather', '--ship', '--json'], { cwd: p.dir, env: cleanEnv() });
      assert.equal(result.code, 4, result.stderr);
      assert.match(result.stderr + result.stdout, /ship\.url: .* is a placeholder/);
    });
  }
});
