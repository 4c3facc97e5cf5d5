/**
 * Secrets never leave the ship stage: distinct secrets are planted in every credential slot, failures are
 * provoked that make the servers echo them back, and no error string or log line may contain any of them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShipConfig } from '../../src/config/types.js';
import { createShipper } from '../../src/ship/index.js';
import type { ShipInfo } from '../../src/types.js';
import { captureLogger, makeShipConfig, startIngress, startProxy, type Misbehaviour } from '../helpers/ingress.js';

const SECRETS = {
  username: 'user-Zq81-secret',
  password: 'pass-Wm27-secret',
  clientId: 'client-Kd44-secret',
  clientSecret: 'csecret-Pl90-secret',
  token: 'token-Hx63-secret',
  identity: 'identity-Ry15-secret',
  proxyUser: 'puser-Tb52-secret',
  proxyPass: 'ppass-Vn08-secret',
};

/** Every form a secret could leak in. */
const forms = (secret: string): string[] => [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
const leakForms = [
  ...Object.values(SECRETS).flatMap(forms),
  Buffer.from(`${SECRETS.username}:${SECRETS.password}`).toString('base64'),
  Buffer.from(`${SECRETS.proxyUser}:${SECRETS.proxyPass}`).toString('base64'),
];

let dir: string;
let tarball: string;
const info: ShipInfo = { fileName: 's-0.tar.gz', bytes: 1024, members: [], since: null, until: new Date(0), shippingGroup: 'default' };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ac-ship-secrets-'));
  tarball = join(dir, 's-0.tar.gz');
  await writeFile(tarball, Buffer.alloc(1024, 3));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Sends once (with retries) and returns every text that left the shipper. */
async function texts(config: Partial<ShipConfig>, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const { logger, lines } = captureLogger();
  const shipper = await createShipper({ config: makeShipConfig({ retries: 1, ...config }), version: '0.1.0', logger, env, sleep: async () => {} });
  const result = await shipper.send(tarball, info);
  assert.equal(result.status, 'failed', 'the scenario should fail');
  return [(result as { error: string }).error, ...lines];
}

function assertClean(outputs: string[], scenario: string): void {
  const all = outputs.join('\n');
  for (const leak of leakForms) assert.ok(!all.includes(leak), `${scenario}: leaked ${leak} in ${all}`);
}

const echo: Misbehaviour[] = [
  { status: 503, echoHeaders: true },
  { status: 400, echoHeaders: true },
];

describe('secrets', () => {
  for (const [mode, config] of [
    ['basic', { auth: 'basic', username: SECRETS.username, password: SECRETS.password }],
    ['bearer', { auth: 'bearer', token: SECRETS.token }],
    ['identity', { auth: 'identity', identity: SECRETS.identity }],
  ] as const) {
    it(`${mode}: headers echoed back in failing responses are masked in errors and logs`, async (t) => {
      const ingress = await startIngress();
      t.after(() => ingress.close());
      ingress.misbehave(...echo);
      const outputs = await texts({ url: ingress.url, ...config });
      assert.match(outputs[0]!, /HTTP 400/);
      assert.match(outputs[0]!, /\*\*\*/);
      assertClean(outputs, mode);
    });
  }

  it('service-account: client secret and the issued token are masked', async (t) => {
    const ingress = await startIngress({ auth: { mode: 'service-account', clientId: SECRETS.clientId, clientSecret: SECRETS.clientSecret } });
    t.after(() => ingress.close());
    const config: Partial<ShipConfig> = {
      url: ingress.url,
      tokenUrl: ingress.tokenUrl,
      auth: 'service-account',
      clientId: SECRETS.clientId,
      clientSecret: SECRETS.clientSecret,
    };
    ingress.misbehaveToken({ status: 400, body: `invalid client_id=${SECRETS.clientId}&client_secret=${SECRETS.clientSecret}` });
    assertClean(await texts(config), 'token endpoint echo');

    ingress.misbehave(...echo);
    const outputs = await texts(config);
    assert.ok(ingress.issuedTokens.length > 0);
    for (const token of ingress.issuedTokens) assert.ok(!outputs.join('\n').includes(token), 'access token leaked');
    assertClean(outputs, 'upload echo');
  });

  it('proxy credentials are masked, from ship.proxy and from the environment', async (t) => {
    const proxy = await startProxy({ username: 'someone-else', password: 'other' });
    const ingress = await startIngress();
    t.after(async () => {
      await proxy.close();
      await ingress.close();
    });
    const withCredentials = `http://${SECRETS.proxyUser}:${SECRETS.proxyPass}@127.0.0.1:${proxy.port}`;
    assertClean(await texts({ url: ingress.url, proxy: withCredentials }), 'ship.proxy');
    assertClean(await texts({ url: ingress.url }, { HTTP_PROXY: withCredentials }), 'HTTP_PROXY');
  });

  it('a redirect to a URL with credentials does not show them', async (t) => {
    const ingress = await startIngress();
    t.after(() => ingress.close());
    ingress.misbehave({ status: 307, location: `https://${SECRETS.username}:${SECRETS.password}@elsewhere.example/x` });
    assertClean(await texts({ url: ingress.url, auth: 'basic', username: SECRETS.username, password: SECRETS.password }), 'redirect');
  });
});
