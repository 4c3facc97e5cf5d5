import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Masker, requiredChars } from '../../src/redact/mask.js';

const chars = (pattern: string, flags = 'gu'): string | null => {
  const required = requiredChars(new RegExp(pattern, flags));
  if (required === null) return null;
  return [...required].sort(([a], [b]) => a - b).map(([c, n]) => String.fromCharCode(c).repeat(n)).join('');
};

/** How many times `char` occurs in `text`. */
const count = (text: string, char: string): number => text.split(char).length - 1;

describe('requiredChars', () => {
  it('finds the characters every match holds, as often as it holds them, and knows nothing where it cannot tell', () => {
    assert.equal(chars('\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b'), '...');
    assert.equal(chars('[\\w.+-]+@[\\w-]+\\.[\\w.]+'), '.@');
    assert.equal(chars('ab|ac'), 'a');
    assert.equal(chars('aab|ac'), 'a');
    assert.equal(chars('a.a|aa|(?:ba){2}'), 'aa');
    assert.equal(chars('(?:ab)?c|dc'), 'c');
    assert.equal(chars('a{0,2}b{2}'), 'bb');
    assert.equal(chars('(?:x\\.){2,}-+'), '-..xx');
    assert.equal(chars('(?<=@)x(?=\\.)'), 'x');
    assert.equal(chars('(?<name>@)x'), '@x');
    assert.equal(chars('[.@]\\d+'), '');
    assert.equal(chars('a*?b+?'), 'b');
    assert.equal(chars('é\\n'), '\n');
    assert.equal(chars('\\1(a)'), null, 'a backreference');
    assert.equal(chars('\\x41'), null, 'an escape not followed');
    assert.equal(chars('a', 'gi'), null, 'case folding');
    assert.equal(chars('(?:a|b'.slice(0, 0) + 'a{', 'g'), null, 'a brace that is no quantifier');
  });

  const TOKENS = ['a', 'b', 'aa', '.', '\\.\\.', '\\.', '@', '|', '(', ')', '(?:', '(?=', '(?!', '(?<=', '(?<!', '(?<g>', '[a.]', '[^a]', '[]', '[^]',
    '*', '+', '?', '??', '{0,2}', '{2}', '{1,}', '\\d', '\\w', '\\b', '\\B', '^', '$', '\\n', ']', '}', 'é', '🙂', '\\\\', '\\-', '\\1', '{', '{3}', '{2,3}', '(?:a\\.){2}'];
  const ALPHABET = ['a', 'b', '.', '@', '1', '\n', 'é', '-', ']', '}', '\\', '🙂', 'A'];

  it('never claims a character that a matched value lacks (random patterns and values)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 10 }),
        fc.constantFrom('g', 'gu', 'gm', 'gs', 'gy'),
        fc.array(fc.array(fc.constantFrom(...ALPHABET), { maxLength: 12 }).map((a) => a.join('')), { minLength: 1, maxLength: 8 }),
        (tokens, flags, values) => {
          let pattern: RegExp;
          try {
            pattern = new RegExp(tokens.join(''), flags);
          } catch {
            return; // not a regular expression
          }
          const required = requiredChars(pattern);
          const masker = new Masker([{ pattern, replace: '#', columns: null }]);
          for (const value of values) {
            const lacks = required !== null && [...required].some(([c, n]) => count(value, String.fromCharCode(c)) < n);
            if (lacks) assert.equal(new RegExp(pattern.source, pattern.flags.replace('y', '')).test(value), false, `${pattern} on ${JSON.stringify(value)}`);
            const bytes = Buffer.from(` ${value} `);
            if (!masker.mayChange(bytes, 1, bytes.length - 1)) assert.equal(masker.apply(value), value, `${pattern} on ${JSON.stringify(value)}`);
            const sieved = bytes.subarray(1, bytes.length - 1).filter((b) => masker.sieve[b] === 1).length;
            if (sieved < masker.least) assert.equal(masker.apply(value), value, `sieve: ${pattern} on ${JSON.stringify(value)}`);
          }
        },
      ),
      { numRuns: 20_000 },
    );
  });
});

describe('Masker', () => {
  it('gives what replace gives, rule after rule (a test first changes nothing)', () => {
    const rules = [
      { pattern: /\d+/gu, replace: 'N', columns: null },
      { pattern: /N,N/gu, replace: '$&!', columns: null },
      { pattern: /x/gy, replace: 'Y', columns: null },
    ];
    const masker = new Masker(rules);
    for (const value of ['', 'abc', '1,2', 'x1', 'a1b22c333', 'xx']) {
      const expected = rules.reduce((v, rule) => v.replace(rule.pattern, rule.replace), value);
      assert.equal(masker.apply(value), expected, value);
    }
  });

  it('looks no further at a value with too few of a required character (a timestamp for an IPv4 mask)', () => {
    const masker = new Masker([{ pattern: /\b(?:\d{1,3}\.){3}\d{1,3}\b/gu, replace: '0.0.0.0', columns: null }]);
    const bytes = (text: string): [Buffer, number, number] => [Buffer.from(text), 0, Buffer.byteLength(text)];
    assert.equal(masker.mayChange(...bytes('2026-01-01T00:00:07.919Z')), false);
    assert.equal(masker.mayChange(...bytes('10.0.0')), false);
    assert.equal(masker.mayChange(...bytes('at 10.0.0.1')), true);
  });

  it('sieves by the least number of required characters any rule needs, and not at all when a rule needs none', () => {
    const sieve = (...patterns: RegExp[]): [string, number] => {
      const masker = new Masker(patterns.map((pattern) => ({ pattern, replace: '#', columns: null })));
      const chars = [...masker.sieve.keys()].filter((b) => masker.sieve[b] === 1).map((b) => String.fromCharCode(b)).join('');
      return [chars, masker.least];
    };
    assert.deepEqual(sieve(/\b(?:\d{1,3}\.){3}\d{1,3}\b/gu), ['.', 3]);
    assert.deepEqual(sieve(/\b(?:\d{1,3}\.){3}\d{1,3}\b/gu, /[\w.]+@[\w.]+\.\w+/gu), ['.@', 2]);
    assert.deepEqual(sieve(/\b(?:\d{1,3}\.){3}\d{1,3}\b/gu, /\d+/gu), ['.', 0]);
  });
});
