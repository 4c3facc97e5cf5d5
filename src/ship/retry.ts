/**
 * The one retry rule (contract §5), as a wrapper around any Shipper — the HTTP uploader (whose own got retry is
 * off) or a packager's custom transport. A `retryable` outcome is tried again `retries` times after the first
 * attempt, waiting `min(30 s, 1 s × 2^i)` with full jitter, or what the server asked for with Retry-After.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ShipInfo, ShipResult, Shipper } from '../types.js';

/** A Retry-After longer than this makes the failure final: the run should not sit idle that long. */
export const MAX_RETRY_AFTER_MS = 5 * 60 * 1000;
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export interface RetryOptions {
  /** Retries after the first attempt (`ship.retries`). */
  retries: number;
  /** Waits `ms`; rejects (or resolves early) when `signal` aborts. Tests pass one that records and returns. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1); the jitter source. */
  random?: () => number;
  logger?: Logger;
}

/** The wait before retry number `retry` (0-based): full jitter over an exponentially growing cap. */
export function backoffMs(retry: number, random: () => number): number {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** retry);
  return Math.floor(random() * cap);
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, signal ? { signal } : undefined);

const interrupted = (info: ShipInfo): ShipResult => ({
  status: 'failed',
  error: `upload of ${info.fileName} stopped: the run was interrupted`,
});

/** Wraps `shipper` so that its `send()` only ever answers `sent` or `failed`. */
export function withRetries(shipper: Shipper, options: RetryOptions): Shipper {
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const log = options.logger;
  return {
    async send(tarballPath, info, signal) {
      for (let attempt = 0; ; attempt++) {
        if (signal?.aborted) return interrupted(info);
        const result = await shipper.send(tarballPath, info, signal);
        if (result.status === 'sent') return result;
        if (signal?.aborted) return interrupted(info);
        if (result.status === 'failed') return result;
        const attempts = attempt + 1;
        if (attempt >= options.retries) {
          const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
          return { status: 'failed', error: `${result.error} (gave up after ${tries})` };
        }
        if (result.retryAfterMs !== undefined && result.retryAfterMs > MAX_RETRY_AFTER_MS) {
          const seconds = Math.ceil(result.retryAfterMs / 1000);
          return {
            status: 'failed',
            error: `${result.error} (the server asked to retry after ${seconds} s, longer than the 300 s we wait)`,
          };
        }
        const wait = result.retryAfterMs ?? backoffMs(attempt, random);
        log?.warn(
          { tarball: info.fileName, attempt: attempts, retryInMs: wait },
          `upload of ${info.fileName} failed (${result.error}); retry ${attempts} of ${options.retries} in ${(wait / 1000).toFixed(1)} s`,
        );
        try {
          await sleep(wait, signal);
        } catch (err) {
          if (signal?.aborted) return interrupted(info);
          throw err;
        }
      }
    },
  };
}
