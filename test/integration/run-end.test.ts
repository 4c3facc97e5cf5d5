/**
 * However a ship run ends, `gather()` returns its report and the state holds what was accepted (contract §4, §8):
 * saved as the run goes, once more at the end; never after the lock is lost; a failed last write is the run's
 * fatal error, not an exception.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { SlicingFunction } from '../../src/collect/register.js';
import type { HeldLock, Shipper, State } from '../../src/types.js';
import { NOW, configCollector, loaded, memoryStore, runGather, sandbox, type Sandbox } from '../helpers/fault-gather.js';

const DAY = 86_400_000;
const day = (n: number): Date => new Date(NOW.getTime() - n * DAY);
const BEFORE = day(3);
const boxes: Sandbox[] = [];
after(() => Promise.all(boxes.map((b) => b.cleanup())));

const slicing: SlicingFunction = () => [[day(3), day(2)], [day(2), day(1)], [day(1), NOW]];
const sliceOf = (since: Date): number => 3 - Math.round((NOW.getTime() - since.getTime()) / DAY);
const accepting = (sent: string[] = []): Shipper => ({
  send: async (path) => {
    sent.push(path);
    return { status: 'sent', requestId: `r${sent.length}` };
  },
});
const start = (): State => ({ version: 1, lastGather: BEFORE, entries: { ev: BEFORE } });

async function box(): Promise<Sandbox> {
  const b = await sandbox();
  boxes.push(b);
  return b;
}

describe('the state of a ship run', () => {
  it('is saved as the run goes: a slice accepted is in the store before the run ends', async () => {
    const b = await box();
    const store = memoryStore(start());
    let savedDuringRun: Date | undefined;
    let wake: () => void = () => undefined;
    const saved = new Promise<void>((resolve) => (wake = resolve));
    const write = store.write;
    store.write = async (state) => {
      await write(state);
      wake();
    };
    const ev = loaded({ key: 'ev', version: '1.0', slicing }, async (ctx) => {
      if (sliceOf(ctx.since) === 2) {
        await saved; // slice 0 accepted and saved while the run still goes
        savedDuringRun = store.current.entries.ev;
      }
      return { slice: sliceOf(ctx.since) };
    });
    const { report } = await runGather(b, [configCollector(), ev], { mode: 'ship', store, shipper: accepting(), config: b.config({ concurrency: 1 }) });
    assert.equal(report.failed, false);
    assert.ok(savedDuringRun && savedDuringRun.getTime() >= day(2).getTime(), `saved mid-run: ${savedDuringRun?.toISOString()}`);
    assert.deepEqual(store.current.entries.ev, NOW);
    assert.deepEqual(store.current.lastGather, NOW);
  });

  it('after the lock is lost: the run stops, nothing more is uploaded or written, the report says why', async () => {
    const b = await box();
    const store = memoryStore(start());
    let lost: (err: Error) => void = () => undefined;
    const lock: HeldLock = { release: async () => undefined, onLost: (listener) => (lost = listener) };
    let writesAtLoss = -1;
    const sent: string[] = [];
    const ev = loaded({ key: 'ev', version: '1.0', slicing }, async (ctx) => {
      if (sliceOf(ctx.since) === 1) {
        writesAtLoss = store.writes;
        lost(new Error('the lock connection was closed'));
      }
      return { slice: sliceOf(ctx.since) };
    });
    const { report } = await runGather(b, [configCollector(), ev], { mode: 'ship', store, shipper: accepting(sent), lock, config: b.config({ concurrency: 1 }) });
    assert.match(report.fatal ?? '', /lock was lost.*the lock connection was closed/);
    assert.equal(report.failed, true);
    assert.equal(report.interrupted, false);
    assert.equal(store.writes, writesAtLoss, 'no state write after the loss');
    assert.ok(sent.length <= 1, `at most slice 0 was uploaded (${sent.length})`);
  });

  it('a last write that fails is the run’s fatal error; the report is still returned', async () => {
    const b = await box();
    const store = memoryStore(start());
    store.write = async () => {
      throw new Error('EROFS: read-only file system');
    };
    const ev = loaded({ key: 'ev', version: '1.0', slicing }, async (ctx) => ({ slice: sliceOf(ctx.since) }));
    const { report } = await runGather(b, [configCollector(), ev], { mode: 'ship', store, shipper: accepting() });
    assert.match(report.fatal ?? '', /the state could not be written \(memory\): EROFS/);
    assert.equal(report.failed, true);
    assert.equal(report.tarballs.length, 3);
    assert.ok(report.tarballs.every((t) => t.shipped && t.disposition === 'deleted'));
  });

  it('a collector rejecting with a value that cannot be printed fails alone', async () => {
    const b = await box();
    const store = memoryStore(start());
     
    const bad = loaded({ key: 'bad', version: '1.0' }, async () => Promise.reject(Object.create(null)));
    const ev = loaded({ key: 'ev', version: '1.0', slicing }, async (ctx) => ({ slice: sliceOf(ctx.since) }));
    const { report } = await runGather(b, [configCollector(), bad, ev], { mode: 'ship', store, shipper: accepting() });
    assert.equal(report.fatal, null);
    assert.equal(report.collections.find((c) => c.key === 'bad')?.status, 'failed');
    assert.deepEqual(store.current.entries.ev, NOW);
  });
});
