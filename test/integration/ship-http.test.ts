/**
 * The HTTP uploader against a real local ingress: auth modes, tokens, retries, final failures, timeouts.
 * Waits between retries are recorded by an injected sleep, never slept.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { ShipConfig } from '../../src/config/types.js';
import { createHttpShipper } from '../../src/ship/http.js';
import { requireShipSettings } from '../../src/ship/settings.js';
import { createShipper } from '../../src/ship/index.js';
import type { ShipInfo, ShipResult } from '../../src/types.js';
import { captureLogger, type IngressOptions, makeShipConfig, startIngress, type TestIngress } from '../helpers/ingress.js';

let dir: string;
let tarball: string;
let content: Buffer;
const fileName = 'analytics-2026-11-28-013306+0000-0.tar.gz';
const info = (bytes = 65536): ShipInfo => ({
  fileName,
  bytes,
  members: [{ name: 'jobs.csv', size: 200000 }],
  since: null,
  until: new Date('2026-11-28T01:33:06Z'),
  shippingGroup: 'default',
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ac-ship-http-'));
  tarball = join(dir, fileName);
  content = randomBytes(65536);
  await writeFile(tarball, content);
});
after(() => rm(dir, { recursive: true, force: true }));

async function ingress(t: TestContext, options: IngressOptions = {}): Promise<TestIngress> {
  const server = await startIngress(options);
  t.after(() => server.close());
  return server;
}

/** The run's composed shipper, with waits recorded instead of slept. */
async function shipper(config: Partial<ShipConfig>, extra: { now?: () => number } = {}) {
  const waits: number[] = [];
  const { logger, lines } = captureLogger();
  const s = await createShipper({
    config: makeShipConfig(config),
    version: '0.1.0',
    logger,
    env: {},
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    ...extra,
  });
  return { send: (signal?: AbortSignal) => s.send(tarball, info(), signal), waits, lines };
}

const errorOf = (result: ShipResult): string => {
  assert.notEqual(result.status, 'sent', 'expected a failure');
  return (result as { error: string }).error;
};

describe('upload format', () => {
  it('posts one multipart part named file, streamed, with the name and content type, and reports request_id', async (t) => {
    const server = await ingress(t);
    const s = await shipper({ url: server.url, headers: { 'X-Extra': 'yes' } });
    const result = await s.send();
    assert.equal(result.status, 'sent');
    assert.match((result as { requestId: string }).requestId, /^[0-9a-f]{32}$/);
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert.equal(request!.method, 'POST');
    assert.deepEqual(request!.parts, ['file']);
    assert.equal(request!.file!.name, fileName);
    assert.equal(request!.file!.contentType, 'application/vnd.redhat.tower.tower_payload+tgz');
    assert.ok(request!.file!.content.equals(content), 'uploaded bytes differ from the file');
    assert.equal(request!.headers['user-agent'], 'analytics-collect/0.1.0');
    assert.equal(request!.headers['x-extra'], 'yes');
    assert.match(request!.headers['content-type']!, /^multipart\/form-data; boundary=/);
    assert.equal(s.waits.length, 0);
  });

  it('merges packager headers under ship.headers; ship.auth wins over a packager Authorization', async (t) => {
    const server = await ingress(t, { auth: { mode: 'bearer', token: 'configured' } });
    const { logger } = captureLogger();
    const config = { url: server.url, auth: 'bearer', token: 'configured', headers: { 'User-Agent': 'product/9', 'X-A': 'config' } } as const;
    const settings = requireShipSettings(makeShipConfig(config), {
      version: '0.1.0',
      env: {},
      extraHeaders: { 'x-a': 'packager', 'X-B': 'packager', Authorization: 'Bearer sneaky' },
    });
    const s = createHttpShipper(settings, { logger });
    assert.equal((await s.send(tarball, info())).status, 'sent');
    const headers = server.requests[0]!.headers;
    assert.equal(headers['user-agent'], 'product/9');
    assert.equal(headers['x-a'], 'config');
    assert.equal(headers['x-b'], 'packager');
    assert.equal(headers.authorization, 'Bearer configured');
  });

  it('sends a packager Authorization header when ship.auth is none', async (t) => {
    const server = await ingress(t);
    const { logger } = captureLogger();
    const settings = requireShipSettings(makeShipConfig({ url: server.url }), { version: '0.1.0', env: {}, extraHeaders: { Authorization: 'Product key-1' } });
    const s = createHttpShipper(settings, { logger });
    assert.equal((await s.send(tarball, info())).status, 'sent');
    assert.equal(server.requests[0]!.headers.authorization, 'Product key-1');
  });

  it('takes any 2xx as success (201)', async (t) => {
    const server = await ingress(t, { successStatus: 201 });
    assert.equal((await (await shipper({ url: server.url })).send()).status, 'sent');
  });

  it('gets 415 for a content type the ingress does not know, without retrying', async (t) => {
    const server = await ingress(t);
    const s = await shipper({ url: server.url, contentType: 'application/x-tar' });
    assert.match(errorOf(await s.send()), /HTTP 415/);
    assert.equal(server.requests.length, 1);
  });

  it('gets 413 for a file over the ingress limit, final', async (t) => {
    const server = await ingress(t, { maxBytes: 1000 });
    const s = await shipper({ url: server.url });
    assert.match(errorOf(await s.send()), /HTTP 413 Payload Too Large from http:\/\/127\.0\.0\.1:\d+\/api\/ingress\/v1\/upload: File exceeds maximum file size \(1000\)/);
    assert.equal(server.requests.length, 1);
    assert.equal(s.waits.length, 0);
  });

  it('does not send a tarball over ship.uploadLimit', async (t) => {
    const server = await ingress(t);
    const s = await shipper({ url: server.url, uploadLimit: 1000 });
    assert.match(errorOf(await s.send()), /^not sent: 65536 bytes .* over ship\.uploadLimit 1000 bytes .*largest members: jobs\.csv/);
    assert.equal(server.requests.length, 0);
  });
});

describe('auth modes', () => {
  it('basic: sends the pair, and a wrong one is final and stops later uploads', async (t) => {
    const server = await ingress(t, { auth: { mode: 'basic', username: 'alice', password: 'wonder' } });
    assert.equal((await (await shipper({ url: server.url, auth: 'basic', username: 'alice', password: 'wonder' })).send()).status, 'sent');
    const wrong = await shipper({ url: server.url, auth: 'basic', username: 'alice', password: 'land' });
    const result = await wrong.send();
    assert.match(errorOf(result), /HTTP 401/);
    assert.equal((result as { authRejected?: boolean }).authRejected, true);
    assert.equal(server.requests.length, 2);
    assert.equal(wrong.waits.length, 0);
    const next = await wrong.send();
    assert.equal((next as { authRejected?: boolean }).authRejected, true);
    assert.match(errorOf(next), /not uploaded: the ingress rejected the credentials earlier/);
    assert.equal(server.requests.length, 2, 'nothing more is uploaded after a rejection');
  });

  it('bearer: sends the fixed token', async (t) => {
    const server = await ingress(t, { auth: { mode: 'bearer', token: 'fixed-token-1' } });
    assert.equal((await (await shipper({ url: server.url, auth: 'bearer', token: 'fixed-token-1' })).send()).status, 'sent');
    assert.equal(server.requests[0]!.headers.authorization, 'Bearer fixed-token-1');
  });

  it('identity: sends x-rh-identity as given', async (t) => {
    const identity = Buffer.from(JSON.stringify({ identity: { org_id: '1' } })).toString('base64');
    const server = await ingress(t, { auth: { mode: 'identity', identity } });
    assert.equal((await (await shipper({ url: server.url, auth: 'identity', identity })).send()).status, 'sent');
    assert.equal(server.requests[0]!.headers['x-rh-identity'], identity);
    assert.equal(server.requests[0]!.headers.authorization, undefined);
  });

  it('403 is final and marks the rejection', async (t) => {
    const server = await ingress(t);
    server.misbehave({ status: 403, body: 'forbidden' });
    const s = await shipper({ url: server.url });
    const result = await s.send();
    assert.match(errorOf(result), /HTTP 403 Forbidden from .*: forbidden/);
    assert.equal((result as { authRejected?: boolean }).authRejected, true);
    assert.equal(s.waits.length, 0);
  });
});

describe('service-account', () => {
  const account = { mode: 'service-account', clientId: 'svc-id', clientSecret: 'svc-secret', scope: 'api.console' } as const;
  const config = (server: TestIngress): Partial<ShipConfig> => ({
    url: server.url,
    tokenUrl: server.tokenUrl,
    auth: 'service-account',
    clientId: 'svc-id',
    clientSecret: 'svc-secret',
    scope: 'api.console',
  });

  it('posts client credentials as a form once and reuses the token', async (t) => {
    const server = await ingress(t, { auth: account });
    const s = await shipper(config(server));
    assert.equal((await s.send()).status, 'sent');
    assert.equal((await s.send()).status, 'sent');
    assert.equal(server.tokenRequests.length, 1);
    assert.deepEqual(server.tokenRequests[0]!.form, {
      grant_type: 'client_credentials',
      client_id: 'svc-id',
      client_secret: 'svc-secret',
      scope: 'api.console',
    });
    assert.deepEqual(server.requests.map((r) => r.headers.authorization), [`Bearer ${server.issuedTokens[0]}`, `Bearer ${server.issuedTokens[0]}`]);
  });

  it('fetches a new token when the old one expires', async (t) => {
    const server = await ingress(t, { auth: { ...account, expiresIn: 120 } });
    let clock = Date.parse('2026-11-28T00:00:00Z');
    const s = await shipper(config(server), { now: () => clock });
    await s.send();
    clock += 59_000;
    await s.send();
    assert.equal(server.tokenRequests.length, 1, 'still valid');
    clock += 2_000; // within the last minute of its life
    await s.send();
    assert.equal(server.tokenRequests.length, 2);
    assert.equal(server.requests[2]!.headers.authorization, `Bearer ${server.issuedTokens[1]}`);
  });

  it('after a 401 fetches a token once more and repeats the upload', async (t) => {
    const server = await ingress(t, { auth: account });
    const s = await shipper(config(server));
    await s.send();
    server.revokeTokens();
    assert.equal((await s.send()).status, 'sent');
    assert.equal(server.tokenRequests.length, 2);
    assert.deepEqual(server.requests.map((r) => r.status), [202, 401, 202]);
  });

  it('a second 401 is final: one refetch only', async (t) => {
    const server = await ingress(t, { auth: account });
    server.misbehave({ status: 401 }, { status: 401 }, { status: 401 });
    const s = await shipper(config(server));
    const result = await s.send();
    assert.equal((result as { authRejected?: boolean }).authRejected, true);
    assert.equal(server.tokenRequests.length, 2);
    assert.equal(server.requests.length, 2);
    assert.equal(s.waits.length, 0);
  });

  it('rejected client credentials are final and upload nothing', async (t) => {
    const server = await ingress(t, { auth: account });
    const s = await shipper({ ...config(server), clientSecret: 'wrong' });
    const result = await s.send();
    assert.match(errorOf(result), /the token endpoint .*\/auth\/token answered HTTP 401/);
    assert.equal((result as { authRejected?: boolean }).authRejected, true);
    assert.equal(server.requests.length, 0);
    assert.equal(server.tokenRequests.length, 1);
  });

  it('a token endpoint answering 503 is retried', async (t) => {
    const server = await ingress(t, { auth: account });
    server.misbehaveToken({ status: 503 });
    const s = await shipper(config(server));
    assert.equal((await s.send()).status, 'sent');
    assert.equal(server.tokenRequests.length, 2);
    assert.deepEqual(s.waits, [500]);
  });
});

describe('retries', () => {
  it('retries 5xx, 408 and 429 with exponential full-jitter waits', async (t) => {
    const server = await ingress(t);
    server.misbehave({ status: 503 }, { status: 408 }, { status: 429 });
    const s = await shipper({ url: server.url, retries: 3 });
    assert.equal((await s.send()).status, 'sent');
    assert.deepEqual(server.requests.map((r) => r.status), [503, 408, 429, 202]);
    assert.deepEqual(s.waits, [500, 1000, 2000]);
  });

  it('gives up after ship.retries retries with the status and the body', async (t) => {
    const server = await ingress(t);
    server.misbehave(...Array(3).fill({ status: 502, body: 'upstream down' }));
    const s = await shipper({ url: server.url, retries: 2 });
    assert.match(errorOf(await s.send()), /HTTP 502 Bad Gateway from .*: upstream down \(gave up after 3 attempts\)/);
    assert.equal(server.requests.length, 3);
  });

  it('honours Retry-After in seconds and as an HTTP date', async (t) => {
    const server = await ingress(t);
    const clock = Date.parse('2026-11-28T00:00:00Z');
    server.misbehave({ status: 503, retryAfter: '7' }, { status: 429, retryAfter: 'Sat, 28 Nov 2026 00:00:42 GMT' });
    const s = await shipper({ url: server.url }, { now: () => clock });
    assert.equal((await s.send()).status, 'sent');
    assert.deepEqual(s.waits, [7000, 42000]);
  });

  it('makes a Retry-After over 5 minutes final', async (t) => {
    const server = await ingress(t);
    server.misbehave({ status: 503, retryAfter: '301' });
    const s = await shipper({ url: server.url });
    assert.match(errorOf(await s.send()), /HTTP 503 .*retry after 301 s/);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(s.waits, []);
  });

  it('does not retry other 4xx', async (t) => {
    for (const status of [400, 404, 409, 422]) {
      const server = await ingress(t);
      server.misbehave({ status });
      const s = await shipper({ url: server.url });
      assert.match(errorOf(await s.send()), new RegExp(`HTTP ${status}`));
      assert.equal(server.requests.length, 1);
    }
  });

  it('does not follow redirects', async (t) => {
    const target = await ingress(t);
    const server = await ingress(t);
    server.misbehave({ status: 302, location: target.url });
    const s = await shipper({ url: server.url });
    assert.match(errorOf(await s.send()), /HTTP 302 .*redirect to http:\/\/127\.0\.0\.1:\d+\/api\/ingress\/v1\/upload not followed/);
    assert.equal(target.requests.length, 0);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(s.waits, []);
  });

  it('retries a reset connection', async (t) => {
    const server = await ingress(t);
    server.misbehave('reset');
    const s = await shipper({ url: server.url });
    assert.equal((await s.send()).status, 'sent');
    assert.equal(server.requests.length, 2);
    assert.equal(s.waits.length, 1);
  });

  it('retries a refused connection, then fails', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as { port: number };
    closed.close();
    await once(closed, 'close');
    const s = await shipper({ url: `http://127.0.0.1:${port}/api/ingress/v1/upload`, retries: 2 });
    assert.match(errorOf(await s.send()), /ECONNREFUSED .*gave up after 3 attempts/);
    assert.deepEqual(s.waits, [500, 1000]);
  });

  it('times out on a silent server and retries', async (t) => {
    const server = await ingress(t);
    server.misbehave('hang', 'hang');
    // The whole attempt, sending included, must fit in timeoutMs: room for a loaded machine.
    const s = await shipper({ url: server.url, timeoutMs: 1000, retries: 2 });
    assert.equal((await s.send()).status, 'sent');
    assert.equal(server.requests.length, 3);
    assert.equal(s.waits.length, 2);
  });

  it('reports a timeout after the last attempt', async (t) => {
    const server = await ingress(t);
    server.misbehave('hang', 'hang');
    const s = await shipper({ url: server.url, timeoutMs: 500, retries: 1 });
    assert.match(errorOf(await s.send()), /timed out.*gave up after 2 attempts/);
  });

  it('stops at once when the run is interrupted', async (t) => {
    const server = await ingress(t);
    server.misbehave('hang');
    const s = await shipper({ url: server.url, timeoutMs: 60_000 });
    const controller = new AbortController();
    const arrived = server.nextRequest();
    const pending = s.send(controller.signal);
    await arrived;
    controller.abort();
    assert.match(errorOf(await pending), /interrupted/);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(s.waits, []);
  });
});
