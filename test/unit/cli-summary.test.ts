import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataMembers, displayPath, gatherSummary, shipSummary, shortDate, tarballOutcome, MAX_TARBALL_ROWS } from '../../src/cli/summary.js';
import type { CollectionReport, GatherReport, TarballReport } from '../../src/gather.js';

const FIXED = ['config.json', 'data_collection_status.csv', 'manifest.json'];

function tarball(n: number, extra: Partial<TarballReport> = {}): TarballReport {
  return {
    path: `/p/analytics-out/analytics-2026-11-28-013306+0000-${n}.tar.gz`,
    bytes: 2048,
    members: ['events.csv', ...FIXED],
    shipped: false,
    requestId: null,
    error: null,
    disposition: 'kept',
    ...extra,
  };
}

function collection(key: string, extra: Partial<CollectionReport> = {}): CollectionReport {
  return { key, status: 'ok', since: '2026-11-01T00:00:00.000Z', until: '2026-11-28T01:33:06.000Z', tarballs: [], error: null, redaction: null, ...extra };
}

function report(extra: Partial<GatherReport> = {}): GatherReport {
  return {
    mode: 'dry-run',
    since: null,
    until: '2026-11-28T01:33:06.000Z',
    tarballs: [tarball(0, { members: ['host.json', 'events.csv', ...FIXED] })],
    collections: [collection('host'), collection('events')],
    configError: null,
    fatal: null,
    interrupted: false,
    failed: false,
    ...extra,
  };
}

const OPTIONS = { cwd: '/p', elapsedMs: 1_500 };

describe('gatherSummary', () => {
  it('tabulates the tarballs and ends with a headline', () => {
    const text = gatherSummary(report(), OPTIONS);
    assert.equal(
      text,
      [
        '  tarball                                                  size     data                   status',
        '  analytics-out/analytics-2026-11-28-013306+0000-0.tar.gz  2.0 KiB  host.json, events.csv  written',
        '',
        'Dry run: 2 collections (2 ok), 1 tarball written (2.0 KiB); window until 2026-11-28 01:33:06Z; 1.5s',
      ].join('\n'),
    );
  });

  it('lists failed collectors with their reason, and says how the state moved in a ship run', () => {
    const text = gatherSummary(
      report({
        mode: 'ship',
        since: '2026-11-01T00:00:00.000Z',
        failed: true,
        collections: [collection('host'), collection('jobs', { status: 'failed', error: 'database unreachable' }), collection('events', { status: 'empty' })],
        tarballs: [
          tarball(0, { shipped: true, requestId: 'req-1', disposition: 'deleted' }),
          tarball(1, { path: '/p/analytics-out/failed/analytics-2026-11-28-013306+0000-1.tar.gz', error: 'HTTP 503: busy (gave up after 4 attempts)', disposition: 'failed' }),
        ],
      }),
      OPTIONS,
    );
    assert.match(text, /analytics-out\/analytics-2026-11-28-013306\+0000-0\.tar\.gz .* shipped \(request req-1\)/);
    assert.match(text, /analytics-out\/failed\/.*-1\.tar\.gz .* kept in failed\/ because: HTTP 503: busy \(gave up after 4 attempts\)/);
    assert.match(text, /Failed collectors:\n {2}jobs \(2026-11-01 → 2026-11-28 01:33:06Z\): database unreachable/);
    assert.match(text, /Ship run: 3 collections \(1 ok, 1 empty, 1 failed\), 2 tarballs \(4\.0 KiB\), 1 shipped; window 2026-11-01 → 2026-11-28 01:33:06Z/);
    assert.match(text, /the next run gathers the rest again/);
  });

  it('folds routine rows when there are many, never the ones that went wrong', () => {
    const tarballs = Array.from({ length: 30 }, (_, n) => tarball(n, n === 25 ? { error: 'disk full', bytes: 0, disposition: 'unwritten' } : {}));
    const text = gatherSummary(report({ tarballs, failed: true }), OPTIONS);
    const rows = text.split('\n').filter((line) => line.includes('.tar.gz'));
    assert.equal(rows.length, MAX_TARBALL_ROWS);
    assert.ok(rows.some((r) => r.includes('-25.tar.gz') && r.includes('not written: disk full')));
    assert.match(text, /… and 18 more written \(36\.0 KiB\)/);
  });

  it('says why a run stopped early', () => {
    const text = gatherSummary(report({ fatal: 'the state could not be written (memory): disk full', failed: true }), OPTIONS);
    assert.match(text, /The run stopped early: the state could not be written \(memory\): disk full/);
  });

  it('explains a run without tarballs', () => {
    assert.match(gatherSummary(report({ tarballs: [], collections: [] }), OPTIONS), /^No tarball: nothing to gather in this window\./);
    assert.match(
      gatherSummary(report({ tarballs: [], collections: [], configError: 'returned nothing (null or undefined)', failed: true }), OPTIONS),
      /^The config collector failed: returned nothing \(null or undefined\)\. No tarball was written\./,
    );
  });
});

describe('summary helpers', () => {
  it('says what became of a tarball', () => {
    assert.equal(tarballOutcome(tarball(0), 'dry-run'), 'written');
    assert.equal(tarballOutcome(tarball(0, { shipped: true }), 'ship', true), 'shipped, kept');
    assert.equal(tarballOutcome(tarball(0, { shipped: true, disposition: 'deleted' }), 'ship'), 'shipped');
    assert.equal(
      tarballOutcome(tarball(0, { bytes: 0, error: 'the run was stopped before it was written', disposition: 'unwritten' }), 'ship'),
      'not written: the run was stopped before it was written',
    );
    assert.equal(tarballOutcome(tarball(0, { error: '401', disposition: 'pruned' }), 'ship'), 'not kept (ship.keepFailed): 401');
    // The fate is the recorded disposition, never guessed from the path.
    assert.equal(tarballOutcome(tarball(0, { path: '/p/out/failed/x.tar.gz', error: '401', disposition: 'pruned' }), 'ship'), 'not kept (ship.keepFailed): 401');
    assert.equal(tarballOutcome(tarball(0, { error: '401', disposition: 'failed' }), 'ship'), 'kept in failed/ because: 401');
    assert.equal(tarballOutcome(tarball(0), 'ship'), 'not shipped');
  });

  it('shows paths relative to the working directory when under it', () => {
    assert.equal(displayPath('/p/out/a.tar.gz', '/p'), 'out/a.tar.gz');
    assert.equal(displayPath('/q/a.tar.gz', '/p'), '/q/a.tar.gz');
    assert.equal(displayPath('/p2/a.tar.gz', '/p'), '/p2/a.tar.gz');
  });

  it('lists data members only, cut to fit', () => {
    assert.equal(dataMembers(FIXED), '(status only)');
    assert.equal(dataMembers(['./a.json', './b.csv', ...FIXED]), 'a.json, b.csv');
    const many = Array.from({ length: 10 }, (_, i) => `collector_${i}.json`);
    assert.match(dataMembers(many), /^collector_0\.json, collector_1\.json \+8$/);
  });

  it('shortens instants', () => {
    assert.equal(shortDate('2026-11-28T00:00:00.000Z'), '2026-11-28');
    assert.equal(shortDate('2026-11-28T01:33:06.123Z'), '2026-11-28 01:33:06Z');
  });

  it('summarises a ship command', () => {
    const text = shipSummary(
      [
        { path: '/p/a.tar.gz', bytes: 10, members: ['x.json', ...FIXED], shipped: true, requestId: 'r1', error: null },
        { path: '/p/b.tar.gz', bytes: 10, members: FIXED, shipped: false, requestId: null, error: 'HTTP 413' },
      ],
      { cwd: '/p', elapsedMs: 10, total: 2 },
    );
    assert.match(text, /a\.tar\.gz +10 B +x\.json +shipped \(request r1\)/);
    assert.match(text, /b\.tar\.gz +10 B +\(status only\) +failed: HTTP 413/);
    assert.match(text, /Shipped 1 of 2 tarballs; 10 ms\. The files were left where they are\.$/);
  });
});
