import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { CachedHash, Hmac32 } from '../../src/redact/hmac.js';

const reference = (key: string, value: string): string => createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 32);

describe('Hmac32', () => {
  it('equals node:crypto for every length around the block and padding boundaries', () => {
    const key = 'a-redaction-key-0123456789';
    const hmac = new Hmac32(key);
    for (let n = 0; n <= 260; n++) {
      const value = 'x'.repeat(n);
      assert.equal(hmac.digest(value), reference(key, value), `length ${n}`);
    }
  });

  it('hashes UTF-8 (multi-byte characters, astral planes, lone surrogates as node does)', () => {
    const key = 'ключ-для-хеширования-🔑';
    const hmac = new Hmac32(key);
    for (const value of ['é', 'naïve café', '日本語のテキスト', '🙂🙃'.repeat(40), 'a\ud800b', '\u0000\r\n,"']) {
      assert.equal(hmac.digest(value), reference(key, value), JSON.stringify(value));
    }
  });

  it('takes keys longer than a block the HMAC way (hashed first)', () => {
    const key = 'k'.repeat(64);
    const longer = 'k'.repeat(65) + '🔑'.repeat(30);
    assert.equal(new Hmac32(key).digest('user-1'), reference(key, 'user-1'));
    assert.equal(new Hmac32(longer).digest('user-1'), reference(longer, 'user-1'));
  });

  it('gives 32 lowercase hex characters and a different result for another key', () => {
    const a = new Hmac32('0123456789abcdef').digest('alice');
    const b = new Hmac32('0123456789abcdeg').digest('alice');
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(a, b);
  });
});

describe('CachedHash', () => {
  it('returns the same as the plain hash, for repeated and for unique values alike', () => {
    const hmac = new Hmac32('0123456789abcdef');
    const cached = new CachedHash(hmac);
    for (let i = 0; i < 50_000; i++) {
      const value = i % 3 === 0 ? `user-${i % 17}` : `id-${i}`;
      if (i % 997 === 0) assert.equal(cached.digest(value), reference('0123456789abcdef', value));
      else cached.digest(value);
    }
    for (let i = 0; i < 100; i++) assert.equal(cached.digest(`user-${i}`), reference('0123456789abcdef', `user-${i}`));
  });
});
