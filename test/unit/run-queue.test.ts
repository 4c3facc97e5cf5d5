/**
 * The tarball queue without collectors or a file system: fake write, ship and settle functions record what the
 * queue asks of them, and promises we resolve by hand stand in for slow writes and uploads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TarballQueue, type QueueItem, type Settlement, type Written } from '../../src/run/queue.js';
import type { TarballReport } from '../../src/run/report.js';
import type { ShipResult } from '../../src/types.js';

const item = (id: number): QueueItem => ({ id, path: `/out/t-${id}.tar.gz`, names: [`k${id}.json`] });

/** A promise with its resolve and reject exposed. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const written = (id: number): Written => ({ bytes: 100 + id, members: [`k${id}.json`, 'manifest.json'] });

describe('TarballQueue', () => {
  it('writes at most `limit` tarballs at once; add() waits for a free slot', async () => {
    const writes = [deferred<Written>(), deferred<Written>(), deferred<Written>()];
    let active = 0;
    let peak = 0;
    const queue = new TarballQueue<QueueItem>({
      limit: 2,
      signal: new AbortController().signal,
      write: async (it) => {
        active++;
        peak = Math.max(peak, active);
        try {
          return await writes[it.id]!.promise;
        } finally {
          active--;
        }
      },
    });
    await queue.add(item(0));
    await queue.add(item(1));
    let thirdStarted = false;
    const third = queue.add(item(2)).then(() => (thirdStarted = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(thirdStarted, false, 'the third waits for a slot');
    writes[1]!.resolve(written(1));
    await third;
    writes[0]!.resolve(written(0));
    writes[2]!.resolve(written(2));
    await queue.drain();
    assert.equal(peak, 2);
    assert.deepEqual([0, 1, 2].map((id) => queue.report(id)!.disposition), ['kept', 'kept', 'kept']);
    assert.equal(queue.report(1)!.bytes, 101);
  });

  it('uploads in creation order, whatever order the writes finish in', async () => {
    const writes = [deferred<Written>(), deferred<Written>(), deferred<Written>()];
    const shipped: number[] = [];
    const queue = new TarballQueue<QueueItem>({
      limit: 3,
      signal: new AbortController().signal,
      write: (it) => writes[it.id]!.promise,
      ship: async (it) => {
        shipped.push(it.id);
        return { status: 'sent', requestId: `r${it.id}` };
      },
      settle: async (path) => ({ disposition: 'deleted', path, pruned: [] }),
    });
    for (const id of [0, 1, 2]) await queue.add(item(id));
    writes[2]!.resolve(written(2));
    writes[1]!.resolve(written(1));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(shipped, [], 'nothing is sent before the first tarball');
    writes[0]!.resolve(written(0));
    await queue.drain();
    assert.deepEqual(shipped, [0, 1, 2]);
    assert.equal(queue.report(2)!.requestId, 'r2');
    assert.equal(queue.report(2)!.disposition, 'deleted');
  });

  it('records what settling did: failed, then pruned when a later failure pushed it out of failed/', async () => {
    // keepFailed 2, five failures: the first three end pruned, the last two failed — as on disk.
    const inFailed: string[] = [];
    const settle = async (path: string, accepted: boolean): Promise<Settlement> => {
      assert.equal(accepted, false);
      const target = path.replace('/out/', '/out/failed/');
      inFailed.push(target);
      const pruned = inFailed.splice(0, Math.max(0, inFailed.length - 2));
      return { disposition: pruned.includes(target) ? 'pruned' : 'failed', path: target, pruned };
    };
    const queue = new TarballQueue<QueueItem>({
      limit: 2,
      signal: new AbortController().signal,
      write: async (it) => written(it.id),
      ship: async (): Promise<ShipResult> => ({ status: 'failed', error: 'HTTP 503' }),
      settle,
    });
    for (const id of [0, 1, 2, 3, 4]) await queue.add(item(id));
    await queue.drain();
    const reports = [0, 1, 2, 3, 4].map((id) => queue.report(id)!);
    assert.deepEqual(reports.map((r) => r.disposition), ['pruned', 'pruned', 'pruned', 'failed', 'failed']);
    assert.deepEqual(reports.map((r) => r.path).slice(3), ['/out/failed/t-3.tar.gz', '/out/failed/t-4.tar.gz']);
    assert.ok(reports.every((r) => r.error === 'HTTP 503' && !r.shipped));
  });

  it('a tarball that cannot be written is unwritten, is not shipped, and the rest go on', async () => {
    const shipped: number[] = [];
    const settled: [number, TarballReport][] = [];
    const queue = new TarballQueue<QueueItem>({
      limit: 1,
      signal: new AbortController().signal,
      write: async (it) => {
        if (it.id === 1) throw new Error('ENOSPC: no space left on device');
        return written(it.id);
      },
      ship: async (it) => {
        shipped.push(it.id);
        return { status: 'sent' };
      },
      settle: async (path) => ({ disposition: 'deleted', path, pruned: [] }),
      onSettled: (id, report) => settled.push([id, { ...report }]),
    });
    const tickets = [];
    for (const id of [0, 1, 2]) tickets.push(await queue.add(item(id)));
    assert.deepEqual(await Promise.all(tickets.map((t) => t.written)), [true, false, true]);
    await queue.drain();
    assert.deepEqual(shipped, [0, 2]);
    assert.deepEqual(settled.map(([id, r]) => [id, r.disposition]), [[0, 'deleted'], [1, 'unwritten'], [2, 'deleted']]);
    assert.match(queue.report(1)!.error!, /ENOSPC/);
  });

  it('once the signal is aborted nothing more is uploaded: written tarballs settle as failed', async () => {
    const controller = new AbortController();
    const shipped: number[] = [];
    const secondWrite = deferred<Written>();
    const queue = new TarballQueue<QueueItem>({
      limit: 2,
      signal: controller.signal,
      write: (it) => (it.id === 0 ? Promise.resolve(written(0)) : secondWrite.promise),
      ship: async (it) => {
        shipped.push(it.id);
        return { status: 'sent' };
      },
      settle: async (path, accepted) => ({ disposition: accepted ? 'deleted' : 'failed', path, pruned: [] }),
    });
    await queue.add(item(0));
    await queue.add(item(1));
    await new Promise((r) => setImmediate(r));
    controller.abort();
    secondWrite.resolve(written(1));
    await queue.drain();
    assert.deepEqual(shipped, [0]);
    assert.equal(queue.report(1)!.disposition, 'failed');
    assert.match(queue.report(1)!.error!, /stopped/);
  });

  it('a rejected upload or settle never rejects the queue; credentials rejected halt it', async () => {
    const queue = new TarballQueue<QueueItem>({
      limit: 1,
      signal: new AbortController().signal,
      write: async (it) => written(it.id),
      ship: async (it): Promise<ShipResult> => {
        if (it.id === 0) throw Object.assign(new Error('socket hang up'));
        return { status: 'failed', error: 'HTTP 401', authRejected: true };
      },
      settle: async () => {
        throw new Error('EACCES: permission denied');
      },
    });
    await queue.add(item(0));
    await queue.add(item(1));
    await queue.drain();
    assert.match(queue.report(0)!.error!, /socket hang up/);
    assert.equal(queue.report(0)!.disposition, 'kept', 'the file is still where it was');
    assert.equal(queue.halted, 'HTTP 401');
  });
});
