/**
 * `messageOf`: one line for anything thrown, never a throw — also for values without `toString`, with getters
 * that throw, or revoked Proxies (collector code may reject with anything).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageOf } from '../../src/errors.js';

describe('messageOf', () => {
  it('errors and strings: their text on one line, control characters escaped', () => {
    assert.equal(messageOf(new Error('disk full\n  at /x')), 'disk full at /x');
    assert.equal(messageOf('plain'), 'plain');
    assert.equal(messageOf(42), '42');
    assert.equal(messageOf(undefined), 'undefined');
    assert.doesNotMatch(messageOf(new Error('bell \u0007 csi \u001b[31m')), /[\u0007\u001b]/);
  });

  it('never empty', () => {
    assert.equal(messageOf(new Error('')), 'an empty error');
    assert.equal(messageOf(''), 'an empty error');
    assert.equal(messageOf('  \n '), 'an empty error');
  });

  it('values that cannot be turned into a string: a description instead of a throw', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
        getPrototypeOf() {
          throw new Error('no');
        },
      },
    );
    const messageGetter = new Error('x');
    Object.defineProperty(messageGetter, 'message', {
      get() {
        throw new Error('no');
      },
    });
    const cases: [unknown, RegExp][] = [
      [Object.create(null), /^a value that is not an Error \(\[object Object\]\)$/],
      [{ toString: () => { throw new Error('no'); } }, /^a value that is not an Error \(\[object Object\]\)$/],
      [{ [Symbol.toPrimitive]: () => ({}) }, /not an Error/],
      [Symbol('s'), /^Symbol\(s\)$/],
      [messageGetter, /not an Error \(\[object Error\]\)/],
      [Object.assign(new Error('x'), { message: Object.create(null) as unknown }), /not an Error/],
      [revocable.proxy, /^a value that is not an Error \(object\)$/],
      [hostile, /^a value that is not an Error \((object|\[object Object\])\)$/],
    ];
    for (const [value, expected] of cases) assert.match(messageOf(value), expected);
  });
});
