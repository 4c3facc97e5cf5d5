/**
 * Collections at the same time, delivered in plan order: `inPlanOrder` with plain objects for collectors and
 * hand-resolved promises for collections — no collector modules, no files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inPlanOrder, type Window } from '../../src/run/schedule.js';
import { orderCollectors } from '../../src/run/order.js';
import { register } from '../../src/collect/register.js';

interface Fake {
  name: string;
  slices: number;
  /** Milliseconds each collection takes (a timer stands in for a query). */
  ms: number;
  failSlicerAt?: number;
}

const T0 = Date.UTC(2026, 10, 1);

async function* windowsOf(c: Fake): AsyncGenerator<Window> {
  for (let i = 0; i < c.slices; i++) {
    if (c.failSlicerAt === i) throw new Error(`slicer of ${c.name} broke`);
    yield { since: new Date(T0 + i), until: new Date(T0 + i + 1) };
  }
}

async function run(plan: Fake[], concurrency: number, stopAfter = Infinity) {
  let active = 0;
  let peak = 0;
  const started: string[] = [];
  const running = new Map<string, number>();
  let collected = 0;
  const deliveries: string[] = [];
  for await (const { index, delivery } of inPlanOrder<Fake, string>({
    plan,
    concurrency,
    windows: (c) => windowsOf(c),
    collect: async (c, _index, w) => {
      const slice = w.since.getTime() - T0;
      assert.equal(running.get(c.name) ?? 0, 0, `${c.name}: one collection at a time`);
      running.set(c.name, 1);
      active++;
      peak = Math.max(peak, active);
      started.push(`${c.name}${slice}`);
      await new Promise((r) => setTimeout(r, c.ms));
      active--;
      running.set(c.name, 0);
      collected++;
      return `${c.name}${slice}`;
    },
    stopped: () => collected >= stopAfter,
    now: () => new Date(),
  })) {
    const name = plan[index]!.name;
    deliveries.push(delivery.kind === 'collection' ? delivery.result : delivery.kind === 'done' ? `${name}:${delivery.complete ? 'done' : 'cut'}` : `${name}:slicer-failed`);
  }
  return { peak, started, deliveries };
}

describe('inPlanOrder', () => {
  const plan: Fake[] = [
    { name: 'a', slices: 3, ms: 15 },
    { name: 'b', slices: 1, ms: 1 },
    { name: 'c', slices: 2, ms: 5 },
    { name: 'd', slices: 1, ms: 1 },
    { name: 'e', slices: 0, ms: 1 },
  ];
  const expected = ['a0', 'a1', 'a2', 'a:done', 'b0', 'b:done', 'c0', 'c1', 'c:done', 'd0', 'd:done', 'e:done'];

  it('delivers in plan order and slice order, at any concurrency', async () => {
    for (const concurrency of [1, 2, 4, 16]) {
      const { peak, deliveries } = await run(plan, concurrency);
      assert.deepEqual(deliveries, expected, `concurrency ${concurrency}`);
      assert.ok(peak <= concurrency, `at most ${concurrency} at once (saw ${peak})`);
    }
  });

  it('runs collectors at the same time: later ones start before the first one is done', async () => {
    const { peak, started } = await run(plan, 4);
    assert.ok(peak > 1);
    assert.ok(started.indexOf('b0') < started.indexOf('a2'), `b started while a was still collecting: ${started.join(' ')}`);
  });

  it('concurrency 1 is one after another', async () => {
    const { peak, started } = await run(plan, 1);
    assert.equal(peak, 1);
    assert.deepEqual(started, ['a0', 'a1', 'a2', 'b0', 'c0', 'c1', 'd0']);
  });

  it('a failed slicer is delivered in its place; the collector is then done, not complete', async () => {
    const { deliveries } = await run([{ name: 'a', slices: 3, ms: 1, failSlicerAt: 1 }, { name: 'b', slices: 1, ms: 1 }], 4);
    assert.deepEqual(deliveries, ['a0', 'a:slicer-failed', 'a:cut', 'b0', 'b:done']);
  });

  it('once stopped, nothing more starts and every collector still says it is done', async () => {
    const { deliveries } = await run(plan, 1, 2);
    assert.deepEqual(deliveries, ['a0', 'a1', 'a:cut', 'b:cut', 'c:cut', 'd:cut', 'e:cut']);
  });
});

describe('orderCollectors', () => {
  const c = (key: string, format: 'json' | 'csv', config = false) =>
    register({ key, version: '1', format, ...(config ? { config: true } : {}) }, () => null);
  it('json first, then csv, each in collector order; no config collector; --only filters', () => {
    const all = [c('z', 'csv'), c('config', 'json', true), c('b', 'json'), c('a', 'csv'), c('y', 'json')];
    assert.deepEqual(orderCollectors(all).map((x) => x.key), ['b', 'y', 'z', 'a']);
    assert.deepEqual(orderCollectors(all, ['a', 'y']).map((x) => x.key), ['y', 'a']);
    const loaded = all.map((collector) => ({ collector, file: 'f', exportName: collector.key }));
    assert.deepEqual(orderCollectors(loaded).map((x) => x.exportName), ['b', 'y', 'z', 'a']);
  });
});
