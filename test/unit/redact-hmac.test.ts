import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ColumnHash } from '../../src/redact/csv-hash.js';
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

describe('Hmac32, four lanes at once (queue and flush)', () => {
  it('equals node:crypto for every one-block length, in every lane, for full and partial batches', () => {
    const key = 'a-redaction-key-0123456789';
    const hmac = new Hmac32(key);
    const values = Array.from({ length: 200 }, (_, i) => 'v'.repeat(i % 60) + String.fromCharCode(97 + (i % 26)).repeat(i % 3));
    const input = Buffer.from(values.join(''));
    const out = Buffer.alloc(values.length * 32, 0x20);
    const now: string[] = [];
    let at = 0;
    values.forEach((value, i) => {
      const length = Buffer.byteLength(value);
      if (!hmac.queue(input, at, at + length, out, i * 32)) hmac.digestInto(input, at, at + length, out, i * 32);
      // Partial batches of 1, 2 and 3 too.
      if (i % 7 === 0 || i % 11 === 0) hmac.flush();
      at += length;
      now.push(reference(key, value));
    });
    hmac.flush();
    assert.equal(hmac.queued, 0);
    for (let i = 0; i < values.length; i++) assert.equal(out.toString('latin1', i * 32, i * 32 + 32), now[i], `value ${i}`);
  });

  it('equals node:crypto when the lanes of a batch read from and write to different buffers, and at odd offsets', () => {
    const key = 'a-redaction-key-0123456789';
    const hmac = new Hmac32(key);
    const values = Array.from({ length: 90 }, (_, i) => `value-${i}-${'x'.repeat(i % 13)}`);
    // Three inputs and three outputs, each value placed at an offset of its own (reads and writes of four bytes
    // and two bytes need no alignment).
    const inputs = [0, 1, 2].map((b) => Buffer.concat(values.filter((_, i) => i % 3 === b).map((v, j) => Buffer.from(`${'-'.repeat(j % 4)}${v}`))));
    const outs = [0, 1, 2].map(() => Buffer.alloc(40 * 32 + 3, 0x20));
    const at = [0, 0, 0];
    const places: { out: Buffer; from: number; value: string }[] = [];
    values.forEach((value, i) => {
      const b = i % 3;
      const j = Math.floor(i / 3);
      const start = at[b]! + (j % 4);
      const end = start + Buffer.byteLength(value);
      at[b] = end;
      const out = outs[(i + 1) % 3]!;
      const where = Math.floor(i / 3) * 32 + (i % 3);
      if (!hmac.queue(inputs[b]!, start, end, out, where)) hmac.digestInto(inputs[b]!, start, end, out, where);
      places.push({ out, from: where, value });
    });
    hmac.flush();
    for (const { out, from, value } of places) assert.equal(out.toString('latin1', from, from + 32), reference(key, value), value);
  });

  it('queues only values of one block (up to 55 bytes)', () => {
    const hmac = new Hmac32('0123456789abcdef');
    const bytes = Buffer.alloc(56, 0x61);
    const out = Buffer.alloc(32);
    assert.equal(hmac.queue(bytes, 0, 56, out, 0), false);
    assert.equal(hmac.queue(bytes, 0, 55, out, 0), true);
    hmac.flush();
    assert.equal(out.toString('latin1'), reference('0123456789abcdef', 'a'.repeat(55)));
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

describe('ColumnHash', () => {
  it('writes the hash of the bytes, from the cache or not, queued or at once', () => {
    const key = '0123456789abcdef';
    const hmac = new Hmac32(key);
    for (const repeats of [true, false]) {
      const column = new ColumnHash(hmac);
      // Chunks of 1000 values, as a CSV chunk: queued values are hashed and kept at the end of each.
      for (let chunk = 0; chunk < 20; chunk++) {
        const values = Array.from({ length: 1000 }, (_, i) => (repeats ? `user-${(chunk * 1000 + i) % 5000 % 97}` : `id-${chunk * 1000 + i}`) + 'x'.repeat(i % 70));
        const input = Buffer.from(values.join(''));
        // A new output buffer per chunk, each digest at an offset of its own (copies from the cache are by words).
        const out = Buffer.alloc(values.length * 35);
        const place = (i: number): number => i * 35 + (i % 3);
        let at = 0;
        values.forEach((value, i) => {
          column.write(input, at, at + value.length, out, place(i), i % 13 === 0);
          at += value.length;
        });
        hmac.flush();
        column.commit();
        for (let i = 0; i < values.length; i += 7) assert.equal(out.toString('latin1', place(i), place(i) + 32), reference(key, values[i]!), values[i]);
      }
    }
  });
});
