import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeProxy, isNoProxy, proxyFor } from '../../src/ship/proxy.js';

describe('proxyFor', () => {
  const env = { HTTPS_PROXY: 'http://secure-proxy:1', HTTP_PROXY: 'http://plain-proxy:2' };
  const cases: [string, string | undefined, NodeJS.ProcessEnv, string | null][] = [
    ['https://ingress.example.com/x', undefined, env, 'http://secure-proxy:1'],
    ['http://ingress.example.com/x', undefined, env, 'http://plain-proxy:2'],
    ['https://ingress.example.com/x', 'http://configured:3', env, 'http://configured:3'],
    ['https://ingress.example.com/x', undefined, {}, null],
    ['https://ingress.example.com/x', undefined, { https_proxy: 'http://lower:4' }, 'http://lower:4'],
    ['https://ingress.example.com/x', undefined, { ...env, NO_PROXY: 'example.com' }, null],
    ['https://ingress.example.com/x', undefined, { ...env, no_proxy: '.example.com' }, null],
    ['https://ingress.example.com/x', undefined, { ...env, NO_PROXY: 'other.com,ample.com' }, 'http://secure-proxy:1'],
    // NO_PROXY does not override a proxy chosen in the configuration.
    ['https://ingress.example.com/x', 'http://configured:3', { ...env, NO_PROXY: '*' }, 'http://configured:3'],
  ];
  for (const [target, configured, environment, expected] of cases) {
    it(`${target} ${configured ?? ''} ${JSON.stringify(environment)} → ${expected}`, () => {
      assert.equal(proxyFor(target, configured, environment), expected);
    });
  }
});

describe('isNoProxy', () => {
  const cases: [string, string, boolean][] = [
    ['http://127.0.0.1:8080/', '127.0.0.1', true],
    ['http://127.0.0.1:8080/', '127.0.0.1:8080', true],
    ['http://127.0.0.1:8080/', '127.0.0.1:9090', false],
    ['https://a.b.example.com/', 'example.com', true],
    ['https://a.b.example.com/', '*.example.com', true],
    ['https://notexample.com/', 'example.com', false],
    ['https://host/', ' foo , *', true],
    ['http://10.1.2.3/', '10.0.0.0/8', true],
    ['http://11.1.2.3/', '10.0.0.0/8', false],
    ['http://[::1]:80/', '::1', true],
    ['http://[::1]:80/', '[::1]:80', true],
    ['https://host:443/', 'host:443', true],
    ['https://host/', '', false],
  ];
  for (const [target, noProxy, expected] of cases) {
    it(`${target} with NO_PROXY=${JSON.stringify(noProxy)} → ${expected}`, () => {
      assert.equal(isNoProxy(new URL(target), noProxy), expected);
    });
  }
});

describe('describeProxy', () => {
  it('never shows credentials', () => {
    assert.equal(describeProxy('http://user:secret@proxy.local:3128/'), 'http://proxy.local:3128');
  });
});
