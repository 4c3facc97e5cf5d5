/**
 * Concurrency changes nothing a user receives (contract §3): random collector sets — json and csv, sliced or
 * not, random delays, sizes and failures — gathered at `concurrency` 1 and 4 give the same tarballs (names,
 * members in order, member bytes; status rows with their timestamps and `elapsed` aside) and the same state.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type { SlicingFunction } from '../../src/collect/register.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import type { Shipper, State } from '../../src/types.js';
import { NOW, configCollector, loaded, memoryStore, runGather, sandbox, type Sandbox } from '../helpers/fault-gather.js';

const DAY = 86_400_000;
const BEFORE = new Date(NOW.getTime() - 3 * DAY);

interface Spec {
  key: string;
  format: 'json' | 'csv';
  group: string;
  sliced: boolean;
  /** Per collection: milliseconds it takes, its size (0: empty), whether it throws. */
  collections: { ms: number; size: number; fails: boolean }[];
}

const specArb = fc.record({
  format: fc.constantFrom<'json' | 'csv'>('json', 'csv'),
  group: fc.constantFrom('default', 'default', 'blue'),
  sliced: fc.boolean(),
  shared: fc.constantFrom('s0', 's1'),
  collections: fc.array(
    fc.record({
      ms: fc.integer({ min: 0, max: 15 }),
      size: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.integer({ min: 10, max: 700 }) }),
      fails: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
    { minLength: 3, maxLength: 3 },
  ),
});
const caseArb = fc.record({
  maxDataSize: fc.integer({ min: 300, max: 1500 }),
  specs: fc.array(specArb, { minLength: 1, maxLength: 6 }).map((shapes) =>
    shapes.map((s, i): Spec => ({ key: s.sliced ? s.shared : `k${i}`, format: s.format, group: s.group, sliced: s.sliced, collections: s.collections })),
  ),
});

const slicing: SlicingFunction = () => [0, 1, 2].map((i) => [new Date(BEFORE.getTime() + i * DAY), new Date(BEFORE.getTime() + (i + 1) * DAY)] as const);
const sliceOf = (since: Date): number => Math.round((since.getTime() - BEFORE.getTime()) / DAY);

function collectors(specs: Spec[]) {
  return specs.map((spec, i) =>
    loaded(
      { key: spec.key, version: `${i}.0`, format: spec.format, shippingGroup: spec.group, ...(spec.sliced ? { slicing } : {}) },
      async (ctx) => {
        const c = spec.collections[spec.sliced ? sliceOf(ctx.since) : 0]!;
        await sleep(c.ms);
        if (c.fails) throw new Error(`c${i} failed`);
        if (c.size === 0) return spec.format === 'json' ? null : [];
        const text = `c${i}:${ctx.since.toISOString()}:`.padEnd(c.size, 'x');
        if (spec.format === 'json') return text;
        const file = join(ctx.outputDir, 'part.csv');
        await writeFile(file, `${text}\n`);
        return file;
      },
      `c${i}`,
    ),
  );
}

/** Everything a user receives from a run, timestamps of the status rows aside. */
async function received(box: Sandbox, specs: Spec[], maxDataSize: number, concurrency: number): Promise<{ tarballs: unknown[]; state: State }> {
  const store = memoryStore({ version: 1, lastGather: BEFORE, entries: { s0: BEFORE, s1: BEFORE } });
  const shipper: Shipper = { send: async () => ({ status: 'sent', requestId: 'r' }) };
  const { report } = await runGather(box, [configCollector(), ...collectors(specs)], {
    mode: 'ship',
    keep: true,
    store,
    shipper,
    config: box.config({ maxDataSize, concurrency }),
  });
  const tarballs = [];
  for (const t of report.tarballs) {
    const contents = await readTarball(t.path);
    const members: [string, string][] = [];
    for (const m of contents.members) {
      let text = (await contents.read(m.name)).toString('utf8');
      // collection_start_timestamp (first column) and elapsed (last) are the clock's, not the data's.
      if (m.name === 'data_collection_status.csv') text = text.split('\n').map((row) => row.split(',').slice(1, -1).join(',')).join('\n');
      members.push([m.name, text]);
    }
    tarballs.push({ name: basename(t.path), members, disposition: t.disposition });
  }
  return { tarballs, state: store.current };
}

const boxes: Sandbox[] = [];
after(() => Promise.all(boxes.map((b) => b.cleanup())));

describe('concurrency changes nothing a user receives (property-based)', () => {
  it('the same tarballs, member for member, and the same state at concurrency 1 and 4', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ maxDataSize, specs }) => {
        const one = await sandbox();
        const four = await sandbox();
        boxes.push(one, four);
        const serial = await received(one, specs, maxDataSize, 1);
        const parallel = await received(four, specs, maxDataSize, 4);
        assert.deepEqual(parallel.tarballs, serial.tarballs);
        assert.deepEqual({ ...parallel.state.entries }, { ...serial.state.entries });
        assert.deepEqual(parallel.state.lastGather, serial.state.lastGather);
      }),
      { numRuns: 30, includeErrorInReport: true },
    );
  });
});
