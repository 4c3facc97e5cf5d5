import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactSecrets, secretsOf } from '../../src/ship/redact.js';
import { makeShipConfig } from '../helpers/ingress.js';

describe('redactSecrets', () => {
  it('masks each secret, its URL-encoded and its base64 form', () => {
    const secret = 'p@ss word/1';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${Buffer.from(secret).toString('base64')} d`;
    const out = redactSecrets(text, [secret]);
    assert.equal(out, 'a [redacted] b [redacted] c [redacted] d');
  });

  it('masks the longer of two overlapping secrets whole', () => {
    assert.equal(redactSecrets('key=abcdef123', ['abcd', 'abcdef123']), 'key=[redacted]');
  });

  it('masks credentials in URLs and authorization-like values even when not listed', () => {
    const out = redactSecrets(
      'via http://bob:hunter22@proxy:3128 with {"authorization":"Basic Ym9iOmh1bnRlcjIy"} and Proxy-Authorization: Basic QWxhZGRpbjpvcGVu and Bearer eyJhbGciOiJIUzI1NiJ9.e30 x-rh-identity: eyJpZGVudGl0eSI6e319',
      [],
    );
    for (const leaked of ['hunter22', 'Ym9iOmh1bnRlcjIy', 'QWxhZGRpbjpvcGVu', 'eyJhbGciOiJIUzI1NiJ9', 'eyJpZGVudGl0eSI6e319']) {
      assert.ok(!out.includes(leaked), `${leaked} leaked in ${out}`);
    }
    assert.match(out, /http:\/\/\[redacted\]@proxy:3128/);
  });

  it('leaves ordinary text alone and ignores empty or tiny secrets', () => {
    const text = 'upload of a-0.tar.gz failed: HTTP 503 Service Unavailable; basic authentication and bearer credentials';
    assert.equal(redactSecrets(text, ['', undefined, null, 'a']), text);
  });
});

describe('secretsOf', () => {
  it('lists config secrets, the basic pair and proxy credentials from config and environment', () => {
    const secrets = secretsOf(
      makeShipConfig({
        username: 'user1',
        password: 'pass1',
        clientId: 'cid1',
        clientSecret: 'csec1',
        token: 'tok1',
        identity: 'ident1',
        proxy: 'http://pu%40x:pp%2F1@proxy:8080',
      }),
      { HTTPS_PROXY: 'http://eu:ep@proxy:1' },
    );
    for (const s of ['user1', 'pass1', 'user1:pass1', 'cid1', 'csec1', 'tok1', 'ident1', 'pu@x', 'pp/1', 'eu', 'ep']) {
      assert.ok(secrets.includes(s), `missing ${s}`);
    }
  });
});
