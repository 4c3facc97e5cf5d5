import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ShipConfig } from '../../src/config/types.js';
import { parseShipSettings, requireShipSettings, shippingProblem, validateShipConfig } from '../../src/ship/settings.js';
import { AppError } from '../../src/errors.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { makeShipConfig } from '../helpers/ingress.js';

const url = 'https://console.corp.internal/api/ingress/v1/upload';

describe('shippingProblem', () => {
  const configured: [string, Partial<ShipConfig>][] = [
    ['none', { url }],
    ['basic', { url, auth: 'basic', username: 'u', password: 'p' }],
    ['service-account', { url, auth: 'service-account', clientId: 'c', clientSecret: 's', tokenUrl: 'https://sso/t' }],
    ['bearer', { url, auth: 'bearer', token: 't' }],
    ['identity', { url, auth: 'identity', identity: 'eyJ9' }],
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

  it('refuses placeholder URLs: example.com/.net/.org and subdomains, *.example, *.test, *.invalid', () => {
    for (const host of ['example.com', 'ingress.example.com', 'a.b.example.net', 'example.org', 'ingress.example', 'ingress.test', 'x.invalid', 'EXAMPLE.COM.']) {
      const problem = shippingProblem(makeShipConfig({ url: `https://${host}/api/ingress/v1/upload` }));
      assert.match(problem ?? '', /ship\.url: .* is a placeholder/, host);
    }
    for (const host of ['example.community', 'notexample.com', 'testing.internal', '127.0.0.1']) {
      assert.equal(shippingProblem(makeShipConfig({ url: `https://${host}/up` })), null, host);
    }
    const token = shippingProblem(makeShipConfig({ url, auth: 'service-account', clientId: 'c', clientSecret: 's', tokenUrl: 'https://sso.example.com/t' }));
    assert.match(token ?? '', /ship\.tokenUrl: .* is a placeholder/);
  });

  it('allows credentials over plain http only to loopback addresses with no proxy in between', () => {
    for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000', '127.1.2.3']) {
      assert.equal(shippingProblem(makeShipConfig({ url: `http://${host}/up`, auth: 'bearer', token: 't' }), {}), null, host);
    }
    assert.match(shippingProblem(makeShipConfig({ url: 'http://ingress.corp.internal/up', auth: 'bearer', token: 't' }), {}) ?? '', /ship\.url: .*https/);
    // No credentials, no problem.
    assert.equal(shippingProblem(makeShipConfig({ url: 'http://ingress.corp.internal/up' }), {}), null);
    for (const [name, config, env] of [
      ['HTTP_PROXY', { url: 'http://127.0.0.1:8080/up', auth: 'basic', username: 'u', password: 'p' }, { HTTP_PROXY: 'http://proxy.corp:3128' }],
      ['http_proxy', { url: 'http://localhost/up', auth: 'identity', identity: 'eyJ9' }, { http_proxy: 'http://proxy.corp:3128' }],
      ['ship.proxy', { url: 'http://127.0.0.1/up', auth: 'bearer', token: 't', proxy: 'http://proxy.corp:3128' }, { NO_PROXY: '127.0.0.1' }],
    ] as const) {
      const problem = shippingProblem(makeShipConfig(config), { ...env });
      assert.match(problem ?? '', /ship\.url: .*clear text through the proxy http:\/\/proxy\.corp:3128/, name);
    }
    // NO_PROXY takes the environment's proxy out of the way.
    assert.equal(shippingProblem(makeShipConfig({ url: 'http://127.0.0.1/up', auth: 'bearer', token: 't' }), { HTTP_PROXY: 'http://proxy.corp:3128', NO_PROXY: '127.0.0.1' }), null);
  });

  it('applies the same rules to tokenUrl', () => {
    const sa = { url, auth: 'service-account', clientId: 'c', clientSecret: 's' } as const;
    assert.match(shippingProblem(makeShipConfig({ ...sa, tokenUrl: 'http://sso.corp.internal/token' }), {}) ?? '', /ship\.tokenUrl: /);
    assert.match(shippingProblem(makeShipConfig({ ...sa, tokenUrl: 'http://127.0.0.1:1/token' }), { HTTP_PROXY: 'http://p.corp:1' }) ?? '', /ship\.tokenUrl: .*through the proxy/);
    assert.equal(shippingProblem(makeShipConfig({ ...sa, tokenUrl: 'http://127.0.0.1:1/token' }), {}), null);
  });

  it('requireShipSettings: exit 2 for wrong values, 4 for missing or unsafe ones', () => {
    const codeOf = (config: Partial<ShipConfig>, env: NodeJS.ProcessEnv = {}): number => {
      try {
        requireShipSettings(makeShipConfig(config), { env });
        return 0;
      } catch (err) {
        return (err as AppError).exitCode;
      }
    };
    assert.equal(codeOf({ url }), 0);
    assert.equal(codeOf({ url: 'ftp://x/y' }), 2);
    assert.equal(codeOf({ url: undefined }), 4);
    assert.equal(codeOf({ url: 'https://ingress.example.com/up' }), 4);
    assert.equal(codeOf({ url: 'http://127.0.0.1/up', auth: 'basic', username: 'u', password: 'p' }, { HTTP_PROXY: 'http://p.corp:1' }), 4);
  });

  it('parses once into one typed value', () => {
    const parsed = parseShipSettings(makeShipConfig({ url, auth: 'basic', username: 'u', password: 'p', headers: { 'X-A': '1' }, requireRequestId: false }), { env: {}, version: '9.9.9' });
    assert.deepEqual(parsed.usage, []);
    assert.deepEqual(parsed.settings?.auth, { mode: 'basic', username: 'u', password: 'p' });
    assert.equal(parsed.settings?.requireRequestId, false);
    assert.equal(parsed.settings?.headers['user-agent'], 'analytics-collect/9.9.9');
    assert.equal(parsed.settings?.headers['x-a'], '1');
    assert.equal(parsed.settings?.proxy, null);
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
    const tls = parseShipSettings(makeShipConfig({ url, auth: 'mtls', certFile: certs.clientCertFile, keyFile: certs.clientKeyFile, caFile: certs.caFile }), { env: {} }).settings?.tls;
    assert.equal(tls?.cert, certs.clientCert);
    assert.ok(tls?.ca?.includes(certs.caCert));
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
