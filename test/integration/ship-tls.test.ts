/** HTTPS: a private CA via ship.caFile, unknown CAs refused for good, and mutual TLS. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { ShipConfig } from '../../src/config/types.js';
import { createShipper } from '../../src/ship/index.js';
import type { ShipInfo, ShipResult } from '../../src/types.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { captureLogger, type IngressOptions, makeShipConfig, startIngress, type TestIngress } from '../helpers/ingress.js';

let certs: TestCerts;
let dir: string;
let tarball: string;
const info: ShipInfo = { fileName: 'a-0.tar.gz', bytes: 4096, members: [], since: null, until: new Date(0), shippingGroup: 'default' };

before(async () => {
  certs = await makeTestCerts();
  dir = await mkdtemp(join(tmpdir(), 'ac-ship-tls-'));
  tarball = join(dir, 'a-0.tar.gz');
  await writeFile(tarball, Buffer.alloc(4096, 1));
});
after(async () => {
  await certs.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function ingress(t: TestContext, options: IngressOptions): Promise<TestIngress> {
  const server = await startIngress(options);
  t.after(() => server.close());
  return server;
}

async function send(config: Partial<ShipConfig>): Promise<{ result: ShipResult; waits: number[] }> {
  const waits: number[] = [];
  const shipper = await createShipper({
    config: makeShipConfig(config),
    version: '0.1.0',
    logger: captureLogger().logger,
    env: {},
    sleep: async (ms) => void waits.push(ms),
  });
  return { result: await shipper.send(tarball, info), waits };
}

const errorOf = (result: ShipResult): string => {
  assert.notEqual(result.status, 'sent', 'expected a failure');
  return (result as { error: string }).error;
};

describe('https', () => {
  it('trusts a server signed by the CA in ship.caFile', async (t) => {
    const server = await ingress(t, { tls: { key: certs.serverKey, cert: certs.serverCert } });
    const { result } = await send({ url: server.url, caFile: certs.caFile, auth: 'bearer', token: 'tls-token' });
    assert.equal(result.status, 'sent');
    assert.equal(server.requests[0]!.headers.authorization, 'Bearer tls-token');
  });

  it('refuses a server whose CA is unknown, at once and for good', async (t) => {
    const server = await ingress(t, { tls: { key: certs.serverKey, cert: certs.serverCert } });
    const { result, waits } = await send({ url: server.url });
    assert.match(errorOf(result), /TLS error UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.deepEqual(waits, []);
    assert.equal(server.requests.length, 0);
  });

  it('refuses a server signed by another CA even with ship.caFile', async (t) => {
    const server = await ingress(t, { tls: { key: certs.strangerKey, cert: certs.strangerCert } });
    const { result, waits } = await send({ url: server.url, caFile: certs.caFile });
    assert.match(errorOf(result), /TLS error/);
    assert.deepEqual(waits, []);
    assert.equal(server.requests.length, 0);
  });
});

describe('mtls', () => {
  const tls = () => ({ key: certs.serverKey, cert: certs.serverCert, ca: certs.caCert, requestCert: true });

  it('is accepted with the client certificate', async (t) => {
    const server = await ingress(t, { tls: tls(), auth: { mode: 'mtls' } });
    const { result } = await send({ url: server.url, caFile: certs.caFile, auth: 'mtls', certFile: certs.clientCertFile, keyFile: certs.clientKeyFile });
    assert.equal(result.status, 'sent');
    assert.equal(server.requests[0]!.clientCert, 'analytics-collect test client');
  });

  it('is refused without one, without retrying', async (t) => {
    // TLS 1.2 refuses a missing client certificate inside the handshake. (With TLS 1.3 the refusal arrives after
    // the client has started writing, so it can surface as EPIPE/ECONNRESET, which are retried like any reset.)
    const server = await ingress(t, { tls: { ...tls(), maxVersion: 'TLSv1.2' }, auth: { mode: 'mtls' } });
    const { result, waits } = await send({ url: server.url, caFile: certs.caFile });
    assert.match(errorOf(result), /TLS error|CERTIFICATE_REQUIRED|ECONNRESET/);
    assert.deepEqual(waits, []);
    assert.equal(server.requests.length, 0);
  });
});
