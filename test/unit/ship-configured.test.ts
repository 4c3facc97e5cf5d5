import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShipConfig } from '../../src/config/types.js';
import { shippingProblem, validateShipConfig } from '../../src/ship/configured.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { makeShipConfig } from '../helpers/ingress.js';

const url = 'https://console.example.com/api/ingress/v1/upload';

describe('shippingProblem', () => {
  const configured: [string, Partial<ShipConfig>][] = [
    ['none', { url }],
    ['basic', { url, auth: 'basic', username: 'u', password: 'p' }],
    ['service-account', { url, auth: 'service-account', clientId: 'c', clientSecret: 's', tokenUrl: 'https://sso/t' }],
    ['bearer', { url, auth: 'bearer', token: 't' }],
    ['identity', { url, auth: 'identity', identity: 'eyJ9' }],
    ['mtls', { url, auth: 'mtls', certFile: '/c.pem', keyFile: '/k.pem' }],
  ];
  for (const [name, overrides] of configured) {
    it(`${name} with its credentials is configured`, () => assert.equal(shippingProblem(makeShipConfig(overrides)), null));
  }

  it('names what is missing and the variable that can supply it', () => {
    const problem = shippingProblem(makeShipConfig({ url: undefined, contentType: undefined, auth: 'basic', username: 'u' }));
    assert.equal(
      problem,
      'shipping is not configured for ship.auth "basic": ship.url, ship.contentType, ship.password (or ANALYTICS_PASSWORD) are not set; set them in the configuration file or the environment',
    );
    assert.match(shippingProblem(makeShipConfig({ url, auth: 'service-account', clientId: 'c', clientSecret: 's' }))!, /ship\.tokenUrl is not set/);
    assert.match(shippingProblem(makeShipConfig({ url, auth: 'bearer', token: '  ' }))!, /ship\.token \(or ANALYTICS_TOKEN\)/);
  });
});

describe('validateShipConfig', () => {
  let certs: TestCerts;
  before(async () => {
    certs = await makeTestCerts();
  });
  after(() => certs.cleanup());

  it('accepts a sound configuration', () => {
    assert.deepEqual(validateShipConfig(makeShipConfig({ url, auth: 'basic', username: 'u', password: 'p', headers: { 'User-Agent': 'x/1' } })), []);
    assert.deepEqual(validateShipConfig(makeShipConfig({ url, auth: 'mtls', certFile: certs.clientCertFile, keyFile: certs.clientKeyFile, caFile: certs.caFile })), []);
  });

  it('allows credentials over plain http only to loopback addresses', () => {
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000', '127.1.2.3']) {
      assert.deepEqual(validateShipConfig(makeShipConfig({ url: `http://${host}/up`, auth: 'bearer', token: 't' })), [], host);
    }
    const problems = validateShipConfig(makeShipConfig({ url: 'http://ingress.example.com/up', auth: 'bearer', token: 't' }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^ship\.url: .*https/);
    // No credentials, no problem.
    assert.deepEqual(validateShipConfig(makeShipConfig({ url: 'http://ingress.example.com/up' })), []);
  });

  it('applies the same rule to tokenUrl', () => {
    const problems = validateShipConfig(
      makeShipConfig({ url, auth: 'service-account', clientId: 'c', clientSecret: 's', tokenUrl: 'http://sso.example.com/token' }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^ship\.tokenUrl: /);
  });

  it('refuses an Authorization header in any case', () => {
    const problems = validateShipConfig(makeShipConfig({ url, headers: { authorization: 'Basic eA==' } }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^ship\.headers: an Authorization header is not allowed/);
    assert.doesNotMatch(problems[0]!, /eA==/);
  });

  it('reports bad URLs, URL credentials, bad headers and unreadable files, all at once, with where', () => {
    const problems = validateShipConfig(
      makeShipConfig({
        url: 'ftp://x/y',
        tokenUrl: 'https://user:pw@sso/t',
        proxy: 'not a url',
        headers: { 'bad header': 'v' },
        auth: 'mtls',
        certFile: join(certs.dir, 'missing.pem'),
        keyFile: certs.clientKeyFile,
        caFile: certs.clientKeyFile,
      }),
      'in /etc/analytics.config.json',
    );
    const keys = problems.map((p) => p.split(':')[0]);
    assert.deepEqual(keys, ['ship.url', 'ship.tokenUrl', 'ship.proxy', 'ship.headers', 'ship.certFile', 'ship.caFile']);
    assert.ok(problems.every((p) => p.endsWith('(in /etc/analytics.config.json)')));
    assert.ok(problems.every((p) => !p.includes('pw')));
  });

  it('refuses a key that does not match the certificate', async () => {
    const otherKey = join(certs.dir, 'other-key.pem');
    await writeFile(otherKey, certs.serverKey);
    const problems = validateShipConfig(makeShipConfig({ url, auth: 'mtls', certFile: certs.clientCertFile, keyFile: otherKey }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^ship\.certFile\/ship\.keyFile: /);
  });

  it('wants https for mtls', () => {
    const problems = validateShipConfig(
      makeShipConfig({ url: 'http://127.0.0.1/up', auth: 'mtls', certFile: certs.clientCertFile, keyFile: certs.clientKeyFile }),
    );
    assert.deepEqual(problems, ['ship.url: ship.auth "mtls" needs an https:// URL']);
  });
});
