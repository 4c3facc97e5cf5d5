/**
 * `track` through the real CLI (contract §9) against a local ingress implementing `/track/{id}` (as
 * insights-ingress-go does): 200 with status/status_msg/date, 404, 401 without the identity header, a slow answer
 * past ship.timeoutMs, an endless 200 (read to 1 MiB, the child's peak RSS bounded); `--last` from the history;
 * exit 4 when no track URL can be derived.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { sampleEntry } from '../helpers/history.js';

const IDENTITY = 'trk-Identity-9x+Z=secret';
const PEAK_RSS = fileURLToPath(new URL('../helpers/peak-rss.mjs', import.meta.url));
const MiB = 1024 * 1024;
const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';

let server: http.Server;
let origin: string;
const seen: { path: string; identity: string | undefined }[] = [];
const projects: Project[] = [];

before(async () => {
  requireBuild();
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', identity: req.headers['x-rh-identity'] as string | undefined });
    const match = /^\/api\/ingress\/v1\/track\/([^/]+)$/.exec(req.url ?? '');
    const send = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers['x-rh-identity'] !== IDENTITY) return send(401, { message: 'Unauthorized' });
    if (match === null) return send(404, { message: 'Not Found' });
    const id = decodeURIComponent(match[1]!);
    if (id === 'slow') return; // never answers: ship.timeoutMs ends the wait
    if (id === 'endless') {
      // A 200 whose body never ends, sent as fast as the client reads it, until it goes away.
      res.on('error', () => undefined);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"');
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (id.startsWith('missing')) return send(404, { message: 'request id not found' });
    send(200, { service: 'tower', account: '1', request_id: id, inventory_id: '', status: 'success', status_msg: `processed ${id}\u001b[31m`, date: '2026-11-28T01:02:03Z' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  server.closeAllConnections();
  server.close();
  await Promise.all(projects.map((p) => p.cleanup()));
});

async function project(url = `${origin}/api/ingress/v1/upload`, extra: Record<string, unknown> = {}): Promise<Project> {
  const p = await makeProject({ ship: { url, contentType: CONTENT_TYPE, auth: 'identity', timeoutMs: 1500, ...extra } });
  projects.push(p);
  return p;
}

const env = (identity = IDENTITY): NodeJS.ProcessEnv => cleanEnv({ ANALYTICS_IDENTITY: identity });

describe('track through the CLI', { concurrency: 2 }, () => {
  it('answered ids: status, status_msg (escaped) and date; exit 0; the identity header sent', async () => {
    const p = await project();
    const run = await cli(['track', 'req-1', 'req-2'], { cwd: p.dir, env: env() });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^request id\s+status\s+status_msg\s+date$/);
    assert.match(lines[1]!, /^req-1\s+success\s+processed req-1\\x1b\[31m\s+2026-11-28T01:02:03Z$/);
    assert.ok(seen.some((s) => s.path === '/api/ingress/v1/track/req-2' && s.identity === IDENTITY));
    assert.ok(!run.stdout.includes(IDENTITY) && !run.stderr.includes(IDENTITY));
    const json = JSON.parse((await cli(['track', 'req-3', '--json'], { cwd: p.dir, env: env() })).stdout) as { results: { status: string; date: string; httpStatus: number }[] };
    assert.deepEqual(json.results.map((r) => [r.httpStatus, r.status, r.date]), [[200, 'success', '2026-11-28T01:02:03Z']]);
  });

  it('404, 401 and a slow answer: each row says so, exit 1', async () => {
    const p = await project();
    const run = await cli(['track', 'missing-1', 'slow', 'ok-1'], { cwd: p.dir, env: env() });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^missing-1\s+not answered\s+404: \{"message":"request id not found"\}/m);
    assert.match(run.stdout, /^slow\s+not answered\s+.*(timeout|Timeout|timed out)/m);
    assert.match(run.stdout, /^ok-1\s+success/m);
    const unauthorized = await cli(['track', 'req-1'], { cwd: p.dir, env: env('wrong-identity-value') });
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stdout, /^req-1\s+not answered\s+401/m);
  });

  it('an endless 200: read to 1 MiB, not parsed, exit 1; the child stays small', async (t) => {
    // A long ship.timeoutMs: only the 1 MiB bound can end this answer soon.
    const p = await project(undefined, { timeoutMs: 600_000 });
    const rssFile = join(p.dir, 'peak-rss');
    const run = await cli(['track', 'endless', 'ok-2', '--json'], {
      cwd: p.dir,
      env: { ...env(), NODE_OPTIONS: `--import ${PEAK_RSS}`, PEAK_RSS_FILE: rssFile },
    });
    assert.equal(run.code, 1, run.stderr);
    const json = JSON.parse(run.stdout) as { results: { requestId: string; httpStatus: number; status: string | null; error: string | null }[] };
    const [endless, ok] = json.results;
    assert.equal(endless?.httpStatus, 200);
    assert.equal(endless.status, null);
    assert.equal(endless.error, '200, then the answer broke off: the answer is longer than 1048576 bytes');
    assert.equal(ok?.status, 'success', 'the next id is still asked');
    const peakRss = Number(await readFile(rssFile, 'utf8'));
    t.diagnostic(`peak RSS of the child: ${(peakRss / MiB).toFixed(1)} MiB`);
    assert.ok(peakRss > 0 && peakRss < 200 * MiB, `peak RSS ${(peakRss / MiB).toFixed(0)} MiB`);
  });

  it('--last: the request ids of the newest history entry that has any', async () => {
    const p = await project();
    const history = [
      sampleEntry({ id: 'a', requestIds: ['old-1'] }),
      sampleEntry({ id: 'b', requestIds: ['new-1', 'new-2'] }),
      sampleEntry({ id: 'c', requestIds: [], exitCode: 1 }),
    ];
    await p.writeState({ lastGather: null, entries: {} });
    await writeFile(join(p.dir, 'state', 'history.jsonl'), history.map((e) => `${JSON.stringify(e)}\n`).join(''));
    const run = await cli(['track', '--last', '--json'], { cwd: p.dir, env: env() });
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout) as { results: { requestId: string }[] };
    assert.deepEqual(json.results.map((r) => r.requestId), ['new-1', 'new-2']);
  });

  it('exit 4 when ship.url does not end in /upload and ship.trackUrl is not set; trackUrl wins', async () => {
    const p = await project(`${origin}/api/ingress/v1/uploads`);
    const run = await cli(['track', 'req-1'], { cwd: p.dir, env: env() });
    assert.equal(run.code, 4);
    assert.match(run.stderr, /no track URL: the last path segment of ship\.url .* is not "upload"; set ship\.trackUrl/);
    const q = await project(`${origin}/elsewhere`, { trackUrl: `${origin}/api/ingress/v1/track` });
    assert.equal((await cli(['track', 'req-9'], { cwd: q.dir, env: env() })).code, 0);
    const none = await cli(['track'], { cwd: q.dir, env: env() });
    assert.equal(none.code, 2);
  });
});
