/** Uploads through a real local proxy: ship.proxy, HTTP(S)_PROXY, NO_PROXY, proxy credentials. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { ShipConfig } from '../../src/config/types.js';
import { createShipper } from '../../src/ship/index.js';
import type { ShipInfo, ShipResult } from '../../src/types.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { captureLogger, makeShipConfig, startIngress, startProxy, type TestIngress, type TestProxy } from '../helpers/ingress.js';

let certs: TestCerts;
let dir: string;
let tarball: string;
const info: ShipInfo = { fileName: 'p-0.tar.gz', bytes: 2048, members: [], since: null, until: new Date(0), shippingGroup: 'default' };

before(async () => {
  certs = await makeTestCerts();
  dir = await mkdtemp(join(tmpdir(), 'ac-ship-proxy-'));
  tarball = join(dir, 'p-0.tar.gz');
  await writeFile(tarball, Buffer.alloc(2048, 2));
});
after(async () => {
  await certs.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function servers(t: TestContext, credentials?: { username: string; password: string }, tls = false): Promise<{ ingress: TestIngress; proxy: TestProxy }> {
  const ingress = await startIngress(tls ? { tls: { key: certs.serverKey, cert: certs.serverCert } } : {});
  const proxy = await startProxy(credentials);
  t.after(async () => {
    await ingress.close();
    await proxy.close();
  });
  return { ingress, proxy };
}

async function send(config: Partial<ShipConfig>, env: NodeJS.ProcessEnv): Promise<{ result: ShipResult; waits: number[]; lines: string[] }> {
  const waits: number[] = [];
  const { logger, lines } = captureLogger();
  const shipper = await createShipper({ config: makeShipConfig(config), version: '0.1.0', logger, env, sleep: async (ms) => void waits.push(ms) });
  return { result: await shipper.send(tarball, info), waits, lines };
}

describe('proxies', () => {
  it('ship.proxy with credentials: the upload passes through it, authenticated', async (t) => {
    const { ingress, proxy } = await servers(t, { username: 'proxy-user', password: 'proxy-pass' });
    const { result, lines } = await send({ url: ingress.url, proxy: proxy.url }, {});
    assert.equal(result.status, 'sent');
    assert.deepEqual(proxy.connects, [`127.0.0.1:${ingress.port}`]);
    assert.deepEqual(proxy.proxyAuthorizations, [`Basic ${Buffer.from('proxy-user:proxy-pass').toString('base64')}`]);
    assert.equal(ingress.requests.length, 1);
    assert.ok(lines.some((line) => line.includes(`"proxy":"http://127.0.0.1:${proxy.port}"`)), 'the proxy is logged without credentials');
    assert.ok(!lines.join('').includes('proxy-pass'));
  });

  it('HTTP_PROXY for an http URL, HTTPS_PROXY for an https one', async (t) => {
    const plain = await servers(t);
    assert.equal((await send({ url: plain.ingress.url }, { HTTP_PROXY: plain.proxy.url, HTTPS_PROXY: 'http://127.0.0.1:9' })).result.status, 'sent');
    assert.deepEqual(plain.proxy.connects, [`127.0.0.1:${plain.ingress.port}`]);

    const secure = await servers(t, undefined, true);
    const { result } = await send({ url: secure.ingress.url, caFile: certs.caFile }, { HTTPS_PROXY: secure.proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' });
    assert.equal(result.status, 'sent');
    assert.deepEqual(secure.proxy.connects, [`127.0.0.1:${secure.ingress.port}`]);
  });

  it('NO_PROXY sends the upload directly', async (t) => {
    const { ingress, proxy } = await servers(t);
    const { result } = await send({ url: ingress.url }, { HTTP_PROXY: proxy.url, NO_PROXY: 'example.com, 127.0.0.1' });
    assert.equal(result.status, 'sent');
    assert.deepEqual(proxy.connects, []);
    assert.equal(ingress.requests.length, 1);
  });

  it('the token request of a service account goes through the proxy too (https: credentials never in clear text)', async (t) => {
    const ingress = await startIngress({ tls: { key: certs.serverKey, cert: certs.serverCert }, auth: { mode: 'service-account', clientId: 'cid', clientSecret: 'csecret' } });
    const proxy = await startProxy();
    t.after(async () => {
      await ingress.close();
      await proxy.close();
    });
    const { result } = await send(
      { url: ingress.url, tokenUrl: ingress.tokenUrl, auth: 'service-account', clientId: 'cid', clientSecret: 'csecret', caFile: certs.caFile },
      { HTTPS_PROXY: proxy.url },
    );
    assert.equal(result.status, 'sent');
    assert.equal(proxy.connects.length, 2);
  });

  it('a proxy refusing the credentials (407) is final, and the password is never shown', async (t) => {
    const { ingress, proxy } = await servers(t, { username: 'proxy-user', password: 'right-pass' });
    const wrongUrl = proxy.url.replace('right-pass', 'wrong-pass-77');
    const { result, waits, lines } = await send({ url: ingress.url, proxy: wrongUrl }, {});
    assert.equal(result.status, 'failed');
    const error = (result as { error: string }).error;
    assert.match(error, /proxy answered 407/);
    assert.deepEqual(waits, []);
    assert.equal(ingress.requests.length, 0);
    for (const text of [error, ...lines]) assert.ok(!text.includes('wrong-pass-77'), text);
  });
});
