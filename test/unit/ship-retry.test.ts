import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, MAX_RETRY_AFTER_MS, withRetries } from '../../src/ship/retry.js';
import type { ShipInfo, ShipResult, Shipper } from '../../src/types.js';

const info: ShipInfo = { fileName: 't-0.tar.gz', bytes: 10, members: [], since: null, until: new Date(0), shippingGroup: 'default' };

/** A shipper answering from a script, counting calls. */
function scripted(...answers: ShipResult[]): Shipper & { calls: number } {
  const shipper = {
    calls: 0,
    async send(): Promise<ShipResult> {
      const answer = answers[shipper.calls] ?? answers[answers.length - 1]!;
      shipper.calls++;
      return answer;
    },
  };
  return shipper;
}

function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

const retryable = (retryAfterMs?: number): ShipResult =>
  retryAfterMs === undefined ? { status: 'retryable', error: 'HTTP 503' } : { status: 'retryable', error: 'HTTP 503', retryAfterMs };

describe('backoffMs', () => {
  it('grows as 1 s × 2^i, capped at 30 s, scaled by the jitter', () => {
    const top = () => 0.999999;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => backoffMs(i, top)), [999, 1999, 3999, 7999, 15999, 29999, 29999]);
    assert.equal(backoffMs(3, () => 0), 0);
    assert.equal(backoffMs(3, () => 0.5), 4000);
  });
});

describe('withRetries', () => {
  it('passes a first success through without waiting', async () => {
    const inner = scripted({ status: 'sent', requestId: 'r1' });
    const { waits, sleep } = recordingSleep();
    assert.deepEqual(await withRetries(inner, { retries: 3, sleep }).send('p', info), { status: 'sent', requestId: 'r1' });
    assert.equal(inner.calls, 1);
    assert.deepEqual(waits, []);
  });

  it('retries retryable outcomes with full-jitter exponential waits, then gives up', async () => {
    const inner = scripted(retryable());
    const { waits, sleep } = recordingSleep();
    const result = await withRetries(inner, { retries: 3, sleep, random: () => 0.5 }).send('p', info);
    assert.equal(result.status, 'failed');
    assert.match((result as { error: string }).error, /HTTP 503 \(gave up after 4 attempts\)/);
    assert.equal(inner.calls, 4);
    assert.deepEqual(waits, [500, 1000, 2000]);
  });

  it('succeeds on a later attempt', async () => {
    const inner = scripted(retryable(), retryable(), { status: 'sent' });
    const { waits, sleep } = recordingSleep();
    assert.deepEqual(await withRetries(inner, { retries: 5, sleep, random: () => 0 }).send('p', info), { status: 'sent' });
    assert.equal(inner.calls, 3);
    assert.equal(waits.length, 2);
  });

  it('waits what Retry-After asked instead of the backoff', async () => {
    const inner = scripted(retryable(7000), { status: 'sent' });
    const { waits, sleep } = recordingSleep();
    await withRetries(inner, { retries: 2, sleep, random: () => 0.5 }).send('p', info);
    assert.deepEqual(waits, [7000]);
  });

  it('makes a Retry-After over 5 minutes final', async () => {
    const inner = scripted(retryable(MAX_RETRY_AFTER_MS + 1000));
    const { waits, sleep } = recordingSleep();
    const result = await withRetries(inner, { retries: 3, sleep }).send('p', info);
    assert.equal(result.status, 'failed');
    assert.match((result as { error: string }).error, /retry after 301 s/);
    assert.equal(inner.calls, 1);
    assert.deepEqual(waits, []);
  });

  it('accepts a Retry-After of exactly 5 minutes', async () => {
    const inner = scripted(retryable(MAX_RETRY_AFTER_MS), { status: 'sent' });
    const { waits, sleep } = recordingSleep();
    assert.equal((await withRetries(inner, { retries: 1, sleep }).send('p', info)).status, 'sent');
    assert.deepEqual(waits, [MAX_RETRY_AFTER_MS]);
  });

  it('does not retry final failures', async () => {
    const inner = scripted({ status: 'failed', error: 'HTTP 400', authRejected: false });
    const { waits, sleep } = recordingSleep();
    assert.equal((await withRetries(inner, { retries: 3, sleep }).send('p', info)).status, 'failed');
    assert.equal(inner.calls, 1);
    assert.deepEqual(waits, []);
  });

  it('with retries 0 makes one attempt', async () => {
    const inner = scripted(retryable());
    const result = await withRetries(inner, { retries: 0, sleep: recordingSleep().sleep }).send('p', info);
    assert.match((result as { error: string }).error, /gave up after 1 attempt\)/);
    assert.equal(inner.calls, 1);
  });

  it('stops waiting at once when the signal aborts (real timer)', async () => {
    const inner = scripted(retryable(60_000));
    const controller = new AbortController();
    const pending = withRetries(inner, { retries: 3 }).send('p', info, controller.signal);
    // The first attempt has been made once the inner shipper was called; abort during the 60 s wait.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(inner.calls, 1);
    controller.abort();
    const result = await pending;
    assert.equal(result.status, 'failed');
    assert.match((result as { error: string }).error, /interrupted/);
    assert.equal(inner.calls, 1);
  });

  it('does not start when the signal is already aborted', async () => {
    const inner = scripted({ status: 'sent' });
    const result = await withRetries(inner, { retries: 3 }).send('p', info, AbortSignal.abort());
    assert.equal(result.status, 'failed');
    assert.equal(inner.calls, 0);
  });
});
