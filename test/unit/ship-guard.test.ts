import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes } from '../../src/format.js';
import { uploadGuardProblem, withUploadGuard } from '../../src/ship/guard.js';
import type { ShipInfo, Shipper } from '../../src/types.js';

const info = (bytes: number): ShipInfo => ({
  fileName: 'analytics-x-0.tar.gz',
  bytes,
  members: [
    { name: 'config.json', size: 100 },
    { name: 'jobs.csv', size: 300 * 1024 * 1024 },
    { name: 'hosts.csv', size: 50 * 1024 * 1024 },
    { name: 'events.csv', size: 120 * 1024 * 1024 },
    { name: 'manifest.json', size: 80 },
  ],
  since: null,
  until: new Date(0),
  shippingGroup: 'default',
});

describe('upload guard', () => {
  it('lets a tarball at the limit through', () => {
    assert.equal(uploadGuardProblem('/out/a.tar.gz', info(1000), 1000), null);
  });

  it('names the size, the limit and the largest members', () => {
    const problem = uploadGuardProblem('/out/a.tar.gz', info(1001), 1000)!;
    assert.match(problem, /^not sent: 1001 bytes/);
    assert.match(problem, /ship\.uploadLimit 1000 bytes/);
    assert.match(problem, /largest members: jobs\.csv \(300\.0 MiB uncompressed\), events\.csv \(120\.0 MiB uncompressed\), hosts\.csv/);
    assert.doesNotMatch(problem, /config\.json/);
  });

  it('fails without calling the inner shipper', async () => {
    let calls = 0;
    const inner: Shipper = { send: async () => (calls++, { status: 'sent' }) };
    const guarded = withUploadGuard(inner, 1000);
    assert.equal((await guarded.send('/out/a.tar.gz', info(5000))).status, 'failed');
    assert.equal(calls, 0);
    assert.equal((await guarded.send('/out/a.tar.gz', info(10))).status, 'sent');
    assert.equal(calls, 1);
  });

  it('formats sizes', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(104857600), '100.0 MiB');
  });
});
