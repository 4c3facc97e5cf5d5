/**
 * src/memory.ts: `dropped()` forces a minor GC once RECLAIM_BYTES of distinct backing stores were given up, and
 * only then; nothing before `reclaimPromptly()`. The GCs are seen by a PerformanceObserver, as forced minor ones
 * (V8's own scavenges are not marked forced).
 */
import assert from 'node:assert/strict';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { dropped, reclaimPromptly, RECLAIM_BYTES } from '../../src/memory.js';

const MIB = 1024 * 1024;

/** Counts the forced minor GCs reported while it observes. */
class ForcedMinorGcs {
  count = 0;
  readonly #observer = new PerformanceObserver((list) => this.#add(list.getEntries()));

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** The count once every GC so far was reported (entries come on a later turn of the event loop). */
  async settled(): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    this.#add(this.#observer.takeRecords());
    return this.count;
  }

  stop(): void {
    this.#observer.disconnect();
  }

  #add(entries: PerformanceEntry[]): void {
    for (const entry of entries) {
      const { detail } = entry as PerformanceEntry & { detail: { kind: number; flags: number } };
      if (detail.kind === constants.NODE_PERFORMANCE_GC_MINOR && (detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) this.count++;
    }
  }
}

/** Buffers of `mib` MiB in all, each on a backing store of its own (as a stream's 64 KiB chunks are). */
const stores = (mib: number): Buffer[] => Array.from({ length: mib * 16 }, () => Buffer.allocUnsafeSlow(64 * 1024));

describe('dropped', () => {
  it('does nothing before reclaimPromptly()', async () => {
    const gcs = new ForcedMinorGcs();
    try {
      dropped(stores(2 * RECLAIM_BYTES / MIB));
      assert.equal(await gcs.settled(), 0);
    } finally {
      gcs.stop();
    }
  });

  it('forces a minor GC once 8 MiB of distinct backing stores were given up, not before', async () => {
    reclaimPromptly();
    const gcs = new ForcedMinorGcs();
    try {
      dropped(stores(RECLAIM_BYTES / MIB - 2)); // 6 MiB
      const big = Buffer.allocUnsafeSlow(MIB);
      // 64 views of one store count once: 7 MiB.
      dropped(Array.from({ length: 64 }, (_, i) => big.subarray(i * 16 * 1024, (i + 1) * 16 * 1024)));
      assert.equal(await gcs.settled(), 0, 'no forced minor GC below the threshold');
      // 8 MiB: one minor GC, and the count starts again.
      dropped([Buffer.allocUnsafeSlow(MIB)]);
      assert.equal(await gcs.settled(), 1);
      dropped(stores(RECLAIM_BYTES / MIB - 1));
      assert.equal(await gcs.settled(), 1);
      dropped(stores(1));
      assert.equal(await gcs.settled(), 2);
    } finally {
      gcs.stop();
    }
  });
});
