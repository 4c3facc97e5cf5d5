/**
 * Ingress faults in-process: the real `gather()` in ship mode with the real shipper against a local ingress,
 * the retry waits recorded through the shipper's `sleep` seam (so a storm without Retry-After costs no time).
 * Checks the backoff (full jitter under min(30 s, 1 s × 2^i)), the state's freeze rule across slices, and
 * failed/ keeping only the newest `ship.keepFailed` tarballs.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Logger } from 'pino';
import type { SlicingFunction } from '../../src/collect/register.js';
import type { ShipConfig } from '../../src/config/types.js';
import { createShipper } from '../../src/ship/index.js';
import { captureLogger, makeShipConfig, startIngress, type TestIngress } from '../helpers/ingress.js';
import { NOW, configCollector, loaded, memoryStore, runGather, sandbox, type Sandbox } from '../helpers/fault-gather.js';
import { listTree } from '../helpers/fault-cli.js';

const DAY = 86_400_000;
const at = (daysBeforeNow: number): Date => new Date(NOW.getTime() - daysBeforeNow * DAY);
/** Three one-day slices ending at NOW. */
const threeDays: SlicingFunction = () => [
  [at(3), at(2)],
  [at(2), at(1)],
  [at(1), at(0)],
] as const;

let box: Sandbox;
let ingress: TestIngress;
beforeEach(async () => {
  box = await sandbox();
  ingress = await startIngress();
});
afterEach(async () => {
  await ingress.close();
  await box.cleanup();
});

async function shipper(overrides: Partial<ShipConfig>, waits: number[], logger: Logger) {
  return createShipper({
    config: makeShipConfig({ url: ingress.url, ...overrides }),
    version: '0.0.0-test',
    logger,
    sleep: async (ms) => {
      waits.push(ms);
    },
    random: () => 0.999,
  });
}

describe('ingress faults in-process', () => {
  it('a 5xx storm without Retry-After: waits grow as 1 s × 2^i (full jitter), then the tarball fails', async () => {
    const waits: number[] = [];
    const { logger } = captureLogger();
    ingress.misbehave({ status: 503 }, { status: 500 }, { status: 502 }, { status: 504 });
    const store = memoryStore({ version: 1, lastGather: at(5), entries: { jobs: at(5) } });
    const { report } = await runGather(box, [configCollector(), loaded({ key: 'jobs', version: '1' }, () => ({ n: 1 }))], {
      mode: 'ship',
      store,
      shipper: await shipper({ retries: 3 }, waits, logger),
    });
    assert.equal(ingress.requests.length, 4);
    assert.deepEqual(waits, [999, 1998, 3996], 'min(30 s, 1 s × 2^i) × random, i = 0, 1, 2');
    assert.equal(report.failed, true);
    assert.match(report.tarballs[0]!.error ?? '', /HTTP 504.*gave up after 4 attempts/);
    assert.equal(store.current.entries.jobs?.toISOString(), at(5).toISOString(), 'the failed key does not move');
    assert.equal((await readdir(join(box.output, 'failed'))).length, 1);
    assert.deepEqual(await listTree(box.tmp), []);
  });

  it("the token endpoint's Retry-After is honoured like the ingress's", async () => {
    await ingress.close();
    ingress = await startIngress({ auth: { mode: 'service-account', clientId: 'cid', clientSecret: 'csecret-1' } });
    const waits: number[] = [];
    const { logger } = captureLogger();
    ingress.misbehaveToken({ status: 503, retryAfter: '7' }, { status: 429, retryAfter: '0' });
    const { report } = await runGather(box, [configCollector(), loaded({ key: 'jobs', version: '1' }, () => ({ n: 1 }))], {
      mode: 'ship',
      shipper: await shipper({ retries: 3, auth: 'service-account', tokenUrl: ingress.tokenUrl, clientId: 'cid', clientSecret: 'csecret-1' }, waits, logger),
    });
    assert.deepEqual(waits, [7000, 0]);
    assert.equal(ingress.tokenRequests.length, 3);
    assert.equal(report.tarballs[0]!.shipped, true, 'the third token request succeeds and the upload goes through');
  });

  it('the first failed slice freezes its key: later accepted slices do not move it', async () => {
    const waits: number[] = [];
    const { logger } = captureLogger();
    // Slice 0 accepted, slice 1 refused (final 400), slice 2 accepted.
    ingress.misbehave({ status: 202, body: '{"request_id":"a"}' }, { status: 400, body: 'bad payload' }, { status: 202, body: '{"request_id":"c"}' });
    const store = memoryStore({ version: 1, lastGather: at(5), entries: {} });
    const { report } = await runGather(
      box,
      [configCollector(), loaded({ key: 'events', version: '1', slicing: threeDays }, (ctx) => ({ day: ctx.since.toISOString() }))],
      { mode: 'ship', store, shipper: await shipper({ retries: 2 }, waits, logger) },
    );
    assert.equal(ingress.requests.length, 3);
    assert.deepEqual(waits, [], 'a 400 is final at once');
    assert.deepEqual(
      report.tarballs.map((t) => t.shipped),
      [true, false, true],
    );
    assert.equal(store.current.entries.events?.toISOString(), at(2).toISOString(), 'entries.events stops where the failed slice starts');
    assert.equal(store.current.lastGather?.toISOString(), NOW.toISOString(), 'the run reached its end: lastGather moves');
  });

  it('failed/ keeps only the newest ship.keepFailed tarballs', async () => {
    const waits: number[] = [];
    const { logger } = captureLogger();
    ingress.misbehave({ status: 400 }, { status: 400 }, { status: 400 });
    const store = memoryStore();
    const { report } = await runGather(
      box,
      [configCollector(), loaded({ key: 'events', version: '1', slicing: threeDays }, (ctx) => ({ day: ctx.since.toISOString() }))],
      { mode: 'ship', store, shipper: await shipper({ retries: 0, keepFailed: 1 }, waits, logger), config: box.config({ ship: makeShipConfig({ keepFailed: 1 }) }) },
    );
    assert.equal(report.tarballs.length, 3);
    const failed = await readdir(join(box.output, 'failed'));
    assert.equal(failed.length, 1, `failed/ holds ${failed.join(', ')}`);
    assert.ok(failed[0]!.endsWith('-2.tar.gz'), 'the newest failure is the one kept');
    assert.equal(store.current.entries.events?.toISOString(), at(3).toISOString(), 'a new key that failed starts where its first slice starts');
  });
});
