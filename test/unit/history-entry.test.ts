import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { historyEntry, type RunFacts } from '../../src/history/entry.js';

const context = { id: 'run-1', host: 'h', pid: 7, version: '9.9.9', redact: (t: string) => t.replaceAll('s3cret', '***') };
const base: RunFacts = {
  command: 'gather',
  mode: 'ship',
  startedAt: new Date('2026-11-28T01:00:00Z'),
  finishedAt: new Date('2026-11-28T01:00:02Z'),
  exitCode: 1,
  report: null,
  errors: [],
};

describe('historyEntry', () => {
  it('has exactly the fields of contract §9, in order', () => {
    const entry = historyEntry(base, context);
    assert.deepEqual(Object.keys(entry), [
      'id', 'command', 'mode', 'startedAt', 'finishedAt', 'since', 'until', 'exitCode', 'collections', 'tarballs',
      'bytes', 'requestIds', 'errors', 'host', 'pid', 'version',
    ]);
    assert.deepEqual(entry.collections, { ok: 0, failed: 0, empty: 0 });
    assert.equal(entry.since, null);
    assert.equal(entry.exitCode, 1);
  });

  it('counts a gather report: collections, tarballs by what became of them, bytes written, request ids', () => {
    const entry = historyEntry(
      {
        ...base,
        report: {
          since: null,
          until: '2026-11-28T00:00:00.000Z',
          collections: [
            { key: 'b', status: 'ok', since: '2026-11-26T00:00:00.000Z', error: null },
            { key: 'a', status: 'ok', since: '2026-11-25T00:00:00.000Z', error: null },
            { key: 'c', status: 'failed', since: '2026-11-27T00:00:00.000Z', error: 'boom s3cret' },
            { key: 'd', status: 'empty', since: '2026-11-27T00:00:00.000Z', error: null },
          ],
          tarballs: [
            { path: '/o/t-0.tar.gz', bytes: 100, shipped: true, requestId: 'r0', error: null, disposition: 'deleted' },
            { path: '/o/t-1.tar.gz', bytes: 50, shipped: false, requestId: null, error: '503', disposition: 'failed' },
            { path: '/o/t-2.tar.gz', bytes: 0, shipped: false, requestId: null, error: null, disposition: 'unwritten' },
          ],
        },
      },
      context,
    );
    assert.deepEqual(entry.collections, { ok: 2, failed: 1, empty: 1 });
    assert.deepEqual(entry.tarballs, { written: 2, shipped: 1, failed: 1 });
    assert.equal(entry.bytes, 150);
    assert.equal(entry.since, '2026-11-25T00:00:00.000Z');
    assert.deepEqual(entry.requestIds, ['r0']);
    assert.deepEqual(entry.errors, ['c: boom ***', 't-1.tar.gz: 503']);
  });

  it('the ship command: nothing written, bytes accepted', () => {
    const entry = historyEntry(
      {
        ...base,
        command: 'ship',
        report: {
          since: null,
          until: null,
          collections: [],
          tarballs: [
            { path: '/x/a.tar.gz', bytes: 10, shipped: true, requestId: 'ra', error: null },
            { path: '/x/b.tar.gz', bytes: 20, shipped: false, requestId: null, error: '401' },
          ],
        },
      },
      context,
    );
    assert.deepEqual(entry.tarballs, { written: 0, shipped: 1, failed: 1 });
    assert.equal(entry.bytes, 10);
  });

  it('keeps at most 20 errors, the one that ended the run first, each on one line', () => {
    const collections = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, status: 'failed' as const, since: '', error: `e${i}\nmore` }));
    const entry = historyEntry(
      { ...base, errors: ['stopped by SIGTERM'], report: { since: null, until: null, collections, tarballs: [] } },
      context,
    );
    assert.equal(entry.errors.length, 20);
    assert.equal(entry.errors[0], 'stopped by SIGTERM');
    assert.equal(entry.errors[1], 'k0: e0 more');
  });
});
