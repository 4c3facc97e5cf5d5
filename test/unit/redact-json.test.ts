import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachedHash, Hmac32 } from '../../src/redact/hmac.js';
import { redactJson } from '../../src/redact/json.js';
import { describeRules, rulesFor } from '../../src/redact/rules.js';
import { TEST_KEY, hmac32, redactConfig, type RawRules } from '../helpers/redact.js';

function run(value: unknown, rules: Record<string, RawRules>, key = 'host') {
  const effective = rulesFor(redactConfig(rules), key);
  assert.ok(effective);
  return redactJson(value, effective, new CachedHash(new Hmac32(TEST_KEY)));
}

describe('JSON redaction', () => {
  it('drops and hashes properties at any depth; null and empty strings stay; non-strings hash their JSON text', () => {
    const { value, summary } = run(
      { hostname: 'h1', machine_id: 'abc', nodes: [{ hostname: 'h2', machine_id: { a: [1, 2] } }, { machine_id: null }, { machine_id: '' }, { machine_id: 42 }] },
      { host: { drop: ['hostname'], hash: ['machine_id'] } },
    );
    assert.equal(
      JSON.stringify(value),
      JSON.stringify({ machine_id: hmac32('abc'), nodes: [{ machine_id: hmac32('{"a":[1,2]}') }, { machine_id: null }, { machine_id: '' }, { machine_id: hmac32('42') }] }),
    );
    assert.deepEqual(summary, { dropped: ['hostname'], hashed: ['machine_id'], masked: 0 });
  });

  it('masks every string value (not property names, not hashed values) and counts changed values', () => {
    const { value, summary } = run(
      { 'ip 10.0.0.1': '10.0.0.1', list: ['a 10.1.1.1 b 10.2.2.2', 'none', 7], user: '10.9.9.9' },
      { '*': { mask: [{ pattern: '\\d+\\.\\d+\\.\\d+\\.\\d+', replace: 'IP' }] }, host: { hash: ['user'] } },
    );
    assert.equal(JSON.stringify(value), JSON.stringify({ 'ip 10.0.0.1': 'IP', list: ['a IP b IP', 'none', 7], user: hmac32('10.9.9.9') }));
    assert.equal(summary.masked, 2);
  });

  it('applies a mask with columns to the strings under those properties only', () => {
    const { value } = run({ note: 'x1', other: 'x2', deep: { note: ['x3', { y: 'x4' }] } }, { host: { mask: [{ pattern: 'x', replace: '_', columns: ['note'] }] } });
    assert.equal(JSON.stringify(value), JSON.stringify({ note: '_1', other: 'x2', deep: { note: ['_3', { y: '_4' }] } }));
  });

  it('keeps a property named __proto__ as a property', () => {
    const input = JSON.parse('{"__proto__":{"secret":"s"},"a":1}') as unknown;
    const { value } = run(input, { host: { hash: ['secret'] } });
    assert.equal(JSON.stringify(value), `{"__proto__":{"secret":"${hmac32('s')}"},"a":1}`);
  });
});

describe('rules', () => {
  it('merges "*" and the key (union of each list); drop wins over hash; only the key\'s own names are required', () => {
    const config = redactConfig({ '*': { drop: ['a'], hash: ['b'], mask: [{ pattern: 'x' }] }, k: { drop: ['c'], hash: ['a', 'd'], mask: [{ pattern: 'x' }, { pattern: 'y' }] } });
    const rules = rulesFor(config, 'k')!;
    assert.deepEqual([...rules.drop], ['a', 'c']);
    assert.deepEqual([...rules.hash], ['b', 'd']);
    assert.deepEqual(rules.mask.map((m) => m.pattern.source), ['x', 'y']);
    assert.deepEqual(rules.required, [{ name: 'c', action: 'drop' }, { name: 'a', action: 'hash' }, { name: 'd', action: 'hash' }]);
    assert.equal(rulesFor(redactConfig({ k: { drop: ['a'] } }), 'other'), null);
    assert.equal(rulesFor(null, 'k'), null);
  });

  it('describes the rules per collector for check, without the key', () => {
    const config = redactConfig({ '*': { mask: [{ pattern: '\\d', replace: '#' }] }, events: { drop: ['email'], hash: ['user'] } });
    const described = describeRules(config, ['config', 'events']);
    assert.deepEqual(described, [
      { key: 'config', drop: [], hash: [], mask: ['/\\d/gu → "#"'] },
      { key: 'events', drop: ['email'], hash: ['user'], mask: ['/\\d/gu → "#"'] },
    ]);
    assert.ok(!JSON.stringify(described).includes(TEST_KEY));
  });
});
