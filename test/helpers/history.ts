/** History entries for tests. */
import type { HistoryEntry } from '../../src/history/types.js';

export function sampleEntry(overrides: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    id: 'id-1',
    command: 'gather',
    mode: 'ship',
    startedAt: '2026-11-28T01:00:00.000Z',
    finishedAt: '2026-11-28T01:00:05.000Z',
    since: '2026-11-27T00:00:00.000Z',
    until: '2026-11-28T00:00:00.000Z',
    exitCode: 0,
    collections: { ok: 2, failed: 0, empty: 1 },
    tarballs: { written: 1, shipped: 1, failed: 0 },
    bytes: 1234,
    requestIds: ['req-1'],
    errors: [],
    host: 'test-host',
    pid: 42,
    version: '0.1.0',
    ...overrides,
  };
}
