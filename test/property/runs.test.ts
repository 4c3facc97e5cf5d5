/**
 * No window is ever skipped (contract §4), property-based, through the real `gather()` in ship mode: random
 * sliced collectors sharing keys, random collection and upload failures, and runs cut at random points — by an
 * error (a packager hook), a signal, a lost lock, or a kill (the process dies: nothing it would write after that
 * point reaches the store) — across many consecutive runs, at random `concurrency`. After every run, for every
 * collector, everything before the position its key resumes from was accepted by the ingress at some point; a
 * final clean run brings every key to its end.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { SlicingFunction } from '../../src/collect/register.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import type { Packager } from '../../src/packager.js';
import type { HeldLock, ShipResult, Shipper, State, StateStore } from '../../src/types.js';
import { configCollector, loaded, runGather, sandbox, type Sandbox } from '../helpers/fault-gather.js';
import { covers, type Interval } from '../helpers/intervals.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 1);
type Cut = 'none' | 'error' | 'signal' | 'lock' | 'kill';

/** Daily slices from the key's entry (else lastGather) to `until`, like the README's example slicer. */
const daily: SlicingFunction = function* ({ lastEntry, lastGather, until }) {
  for (let s = (lastEntry ?? lastGather).getTime(); s < until.getTime(); s = Math.min(s + DAY, until.getTime())) {
    yield [new Date(s), new Date(Math.min(s + DAY, until.getTime()))];
  }
};

const runArb = fc.record({
  stepHours: fc.integer({ min: 1, max: 60 }),
  cut: fc.constantFrom<Cut>('none', 'none', 'error', 'signal', 'lock', 'kill'),
  cutAt: fc.nat({ max: 8 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  /** Per collection and per upload, in order: true = it fails. */
  failures: fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
  uploadFailures: fc.array(fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), { minLength: 1, maxLength: 20 }),
});
const caseArb = fc.record({
  keys: fc.array(fc.constantFrom('e0', 'e1', 'constructor'), { minLength: 2, maxLength: 4 }),
  runs: fc.array(runArb, { minLength: 1, maxLength: 5 }),
});

const boxes: Sandbox[] = [];
after(() => Promise.all(boxes.map((b) => b.cleanup())));

describe('no window is ever skipped across cut-short runs (property-based)', () => {
  it('holds for shared keys, random failures and cuts (error, signal, lock loss, kill)', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ keys, runs }) => {
        const box = await sandbox();
        boxes.push(box);
        const origin = T0 - 2 * DAY;
        let stored: State = { version: 1, lastGather: new Date(origin), entries: Object.create(null) as Record<string, Date> };
        const covered = keys.map((): Interval[] => []);
        let now = T0;

        const runOnce = async (plan: (typeof runs)[number] | 'clean'): Promise<void> => {
          const clean = plan === 'clean';
          now += clean ? HOUR : plan.stepHours * HOUR;
          const controller = new AbortController();
          let killed = false;
          const store: StateStore = {
            read: async () => structuredClone(stored),
            write: async (state) => {
              if (!killed) stored = structuredClone(state);
            },
            describe: () => 'memory',
          };
          let lost: (err: Error) => void = () => undefined;
          const lock: HeldLock = { release: async () => undefined, onLost: (listener) => (lost = listener) };
          let started = 0;
          let failIndex = 0;
          const cutNow = (): void => {
            if (clean || plan.cut === 'none' || plan.cut === 'error' || started !== plan.cutAt) return;
            if (plan.cut === 'signal') controller.abort(new Error('SIGTERM'));
            if (plan.cut === 'lock') lost(new Error('lock connection closed'));
            if (plan.cut === 'kill') {
              killed = true;
              controller.abort(new Error('SIGKILL'));
            }
          };
          const collectors = keys.map((key, i) =>
            loaded({ key, version: '1.0', slicing: daily }, async (ctx) => {
              started++;
              cutNow();
              if (!clean && plan.failures[failIndex++ % plan.failures.length]) throw new Error(`planned failure of c${i}`);
              return { c: i, since: ctx.since.getTime(), until: ctx.until.getTime() };
            }, `c${i}`),
          );
          let uploads = 0;
          const shipper: Shipper = {
            send: async (path): Promise<ShipResult> => {
              if (!clean && plan.uploadFailures[uploads++ % plan.uploadFailures.length]) return { status: 'failed', error: 'HTTP 503' };
              const contents = await readTarball(path);
              for (const m of contents.members) {
                if (!m.name.endsWith('.json') || m.name === 'config.json' || m.name === 'manifest.json') continue;
                const data = JSON.parse((await contents.read(m.name)).toString('utf8')) as { c: number; since: number; until: number };
                covered[data.c]!.push([data.since, data.until]);
              }
              return { status: 'sent', requestId: `r${uploads}` };
            },
          };
          let bases = 0;
          const packager: Packager | null =
            !clean && plan.cut === 'error'
              ? {
                  file: '/in-process/packager.mjs',
                  tarballBase: async () => {
                    if (bases++ === plan.cutAt) throw new Error('tarballBase() broke');
                    return 'analytics';
                  },
                }
              : null;
          await runGather(box, [configCollector(), ...collectors], {
            mode: 'ship',
            store,
            shipper,
            lock,
            packager,
            signal: controller.signal,
            now: () => new Date(now),
            config: box.config({ concurrency: clean ? 4 : plan.concurrency }),
          });

          for (const [i, key] of keys.entries()) {
            const resume = (stored.entries[key] ?? stored.lastGather)!.getTime();
            assert.ok(
              covers(covered[i]!, origin, resume),
              `c${i} (key ${key}): the next run resumes at ${new Date(resume).toISOString()}, past a window it never had accepted`,
            );
          }
        };

        for (const plan of runs) await runOnce(plan);
        await runOnce('clean');
        for (const [i, key] of keys.entries()) {
          assert.equal(stored.entries[key]?.getTime(), now, `${key} reaches the end after a clean run`);
          assert.ok(covers(covered[i]!, origin, now), `c${i}: the timeline has a gap`);
        }
      }),
      { numRuns: 25, includeErrorInReport: true },
    );
  });
});
