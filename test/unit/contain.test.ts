/**
 * The pieces of containment that need no process-wide interception: the bounded, scoped call; the one-line
 * description of anything thrown; "did you mean"; register() reporting every problem of a definition; the
 * slicer's bound on each step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainedError, contained } from '../../src/collect/contain.js';
import { register } from '../../src/collect/register.js';
import { closest } from '../../src/collect/suggest.js';
import { describeThrown, userFrame } from '../../src/collect/where.js';
import { collectSlices } from '../../src/state/window.js';

const request = { key: 'events', since: null, until: new Date('2026-11-02T00:00:00Z'), lastGather: new Date('2026-11-01T00:00:00Z'), lastEntry: null, fullSync: false };

describe('contained', () => {
  it('returns the value, passes a throw through, and times out what never settles', async () => {
    assert.equal(await contained(() => 42, { label: 'x', timeoutMs: 1000 }), 42);
    await assert.rejects(contained(() => Promise.reject(new Error('own')), { label: 'x', timeoutMs: 1000 }), /own/);
    await assert.rejects(contained(() => new Promise(() => undefined), { label: 'x', timeoutMs: 20 }), (err: unknown) => {
      assert.ok(err instanceof ContainedError);
      assert.equal(err.timedOut, true);
      assert.equal(err.message, 'timed out after 20 ms (collectorTimeoutMs)');
      return true;
    });
  });

  it('rejects at once with the reason of an aborted signal', async () => {
    const controller = new AbortController();
    const call = contained(() => new Promise(() => undefined), { label: 'x', timeoutMs: 60_000, signal: controller.signal });
    controller.abort(new Error('stopped by SIGTERM'));
    await assert.rejects(call, /stopped by SIGTERM/);
  });
});

describe('describeThrown', () => {
  it('gives one line for anything, never throwing', () => {
    assert.equal(describeThrown(new Error('a\n  b')), 'a b');
    assert.equal(describeThrown('plain'), 'plain');
    assert.equal(describeThrown(undefined), 'undefined');
    assert.equal(describeThrown(Object.create(null)), '{}, not an Error');
    assert.equal(describeThrown({ message: 'like an error' }), 'like an error');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(describeThrown(cyclic), '[object Object], not an Error');
    const hostile = new Proxy({}, { get: () => { throw new Error('no'); }, ownKeys: () => { throw new Error('no'); } });
    assert.match(describeThrown(hostile), /cannot be shown|not an Error/);
    assert.equal(describeThrown(new Error('x'.repeat(400))).length, 301);
  });

  it('finds the first frame in a user module, TypeScript or marked JavaScript', () => {
    const stack = 'Error: x\n    at inner (node:internal/x:1:1)\n    at f (file:///p/collectors/a.mjs?analytics-collect-esm:7:13)\n';
    assert.deepEqual(userFrame(stack), { file: '/p/collectors/a.mjs', line: 7, column: 13 });
    assert.deepEqual(userFrame('Error: x\n    at /p/collectors/t.ts:3:9'), { file: '/p/collectors/t.ts', line: 3, column: 9 });
    assert.equal(userFrame('Error: x\n    at node:fs:1:1'), null);
  });
});

describe('did you mean', () => {
  it('suggests a close candidate, and none for a far one', () => {
    const fields = ['key', 'version', 'format', 'slicing', 'shippingGroup'];
    assert.equal(closest('verison', fields), 'version');
    assert.equal(closest('formt', fields), 'format');
    assert.equal(closest('ShippingGroup', fields), 'shippingGroup');
    assert.equal(closest('colour', fields), null);
  });
});

describe('register', () => {
  it('reports every problem of a definition at once, with a suggestion for a mistyped field', () => {
    assert.throws(
      () => register({ key: 'manifest', verison: '1' } as never, async () => null),
      (err: Error) => {
        assert.match(err.message, /unknown field "verison" \(did you mean "version"\?\)/);
        assert.match(err.message, /version must be a non-empty string/);
        assert.match(err.message, /key "manifest" is reserved/);
        return true;
      },
    );
  });

  it('takes keys up to 100 characters, Object.prototype names included', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'k'.repeat(100)]) {
      assert.equal(register({ key, version: '1' }, async () => null).key, key);
    }
    assert.throws(() => register({ key: 'k'.repeat(101), version: '1' }, async () => null), /101 characters long; at most 100/);
  });
});

describe('collectSlices containment', () => {
  it('fails a slicer whose call or step does not finish within the bound', async () => {
    const never = (): Promise<never> => new Promise(() => undefined);
    const drain = async (slicing: Parameters<typeof collectSlices>[0]): Promise<unknown> => {
      const out = [];
      for await (const slice of collectSlices(slicing, request, undefined, { timeoutMs: 30 })) out.push(slice);
      return out;
    };
    await assert.rejects(drain(() => never()), /slicing of "events" failed: timed out after 30 ms/);
    await assert.rejects(
      drain(async function* () {
        yield [new Date('2026-11-01T00:00:00Z'), new Date('2026-11-01T12:00:00Z')] as const;
        await never();
      }),
      /slicing of "events" failed: timed out after 30 ms/,
    );
    await assert.rejects(drain(() => { throw Object.create(null); }), /slicing of "events" failed: \{\}, not an Error/);
  });

  it('closes the slicer when the consumer stops early', async () => {
    let closed = false;
    const slicing = async function* (): AsyncGenerator<readonly [Date, Date]> {
      try {
        yield [new Date('2026-11-01T00:00:00Z'), new Date('2026-11-01T12:00:00Z')];
        yield [new Date('2026-11-01T12:00:00Z'), new Date('2026-11-02T00:00:00Z')];
      } finally {
        closed = true;
      }
    };
    for await (const slice of collectSlices(slicing, request, undefined, { timeoutMs: 1000 })) {
      assert.ok(slice);
      break;
    }
    assert.equal(closed, true);
  });
});
