/**
 * Runs one collection — a collector over one window or slice — and checks what it returned (contract §2).
 * Never throws for a collector's fault: the outcome says `failed` with a one-line reason.
 */
import { lstat, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { join, relative, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';
import type { RedactConfig } from '../config/types.js';
import { redactOutcome } from '../redact/outcome.js';
import type { RedactionSummary } from '../redact/types.js';
import type { Collector, CollectorContext } from './register.js';

/** One file a collection produced, ready to be placed. */
export interface CollectedFile {
  /** Member name without `./`: `<key>.json` or `<key>.csv`. */
  name: string;
  file: string;
  size: number;
}

export type CollectionOutcome =
  | { status: 'ok'; files: CollectedFile[] }
  | { status: 'empty' }
  | { status: 'failed'; error: string; timedOut?: boolean };

export interface CollectionResult {
  outcome: CollectionOutcome;
  startedAt: Date;
  finishedAt: Date;
  /** The directory the collector was given. */
  outputDir: string;
  /** What redaction (contract §10) did; null when no rule applies to the collector's key. */
  redaction: RedactionSummary | null;
}

export interface RunCollectionInput {
  collector: Collector;
  since: Date;
  until: Date;
  lastGather: Date;
  maxDataSize: number;
  mode: 'dry-run' | 'ship';
  /** Parent directory for the collection's fresh output directory. */
  workDir: string;
  timeoutMs: number;
  logger: Logger;
  /** The run's signal (SIGINT/SIGTERM). */
  signal: AbortSignal;
  now?: () => Date;
  /** Redaction rules (config `redact`), applied to the output before it is placed. */
  redact?: RedactConfig | null;
}

/** Runs the collector, waiting at most `timeoutMs`; a timed-out collector is abandoned, its late output ignored. */
export async function runCollection(input: RunCollectionInput): Promise<CollectionResult> {
  const now = input.now ?? (() => new Date());
  const { collector } = input;
  const startedAt = now();
  const outputDir = await mkdtemp(join(input.workDir, `${collector.key}-`));
  const timeout = new AbortController();
  const signal = AbortSignal.any([input.signal, timeout.signal]);
  const ctx: CollectorContext = {
    since: new Date(input.since),
    until: new Date(input.until),
    maxDataSize: input.maxDataSize,
    outputDir,
    mode: input.mode,
    lastGather: new Date(input.lastGather),
    logger: input.logger,
    signal,
  };

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<CollectionOutcome>((done) => {
    timer = setTimeout(() => {
      timeout.abort(new Error(`timed out after ${input.timeoutMs} ms`));
      done({ status: 'failed', error: `timed out after ${input.timeoutMs} ms (collectorTimeoutMs)`, timedOut: true });
    }, input.timeoutMs);
    onAbort = () => done({ status: 'failed', error: 'stopped by a signal' });
    if (input.signal.aborted) onAbort();
    else input.signal.addEventListener('abort', onAbort, { once: true });
  });
  const work = (async (): Promise<CollectionOutcome> => {
    try {
      const value = await collector.fn(ctx);
      if (signal.aborted) return { status: 'failed', error: messageOf(signal.reason) };
      return collector.format === 'json'
        ? await jsonOutcome(collector.key, value, outputDir)
        : await csvOutcome(collector.key, value, outputDir);
    } catch (err) {
      return { status: 'failed', error: messageOf(err) || 'threw an empty error' };
    }
  })();
  try {
    const collected = await Promise.race([work, stopped]);
    // Redaction (src/redact): replaces the collector's files before anything places them; may fail the collection.
    const { outcome, redaction } = await redactOutcome(collected, {
      key: collector.key, format: collector.format, redact: input.redact, maxDataSize: input.maxDataSize, outputDir, signal: input.signal,
    });
    // Nothing of a failed or empty collection is kept: its files must not fill tmpDir for the collectors after it.
    if (outcome.status !== 'ok') await rm(outputDir, { recursive: true, force: true });
    return { outcome, startedAt, finishedAt: now(), outputDir, redaction };
  } finally {
    clearTimeout(timer);
    if (onAbort) input.signal.removeEventListener('abort', onAbort);
  }
}

async function jsonOutcome(key: string, value: unknown, outputDir: string): Promise<CollectionOutcome> {
  if (value === undefined || value === null) return { status: 'empty' };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { status: 'failed', error: `returned a value that is not JSON-serialisable: ${messageOf(err)}` };
  }
  if (text === undefined) return { status: 'failed', error: `returned ${typeof value}, which is not JSON-serialisable` };
  const name = `${key}.json`;
  const file = join(outputDir, name);
  await writeFile(file, text, { mode: 0o600 });
  return { status: 'ok', files: [{ name, file, size: Buffer.byteLength(text) }] };
}

async function csvOutcome(key: string, value: unknown, outputDir: string): Promise<CollectionOutcome> {
  if (value === undefined || value === null) return { status: 'empty' };
  const paths: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [undefined];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    return { status: 'failed', error: `a csv collector must return a path or an array of paths, not ${typeof value}` };
  }
  const realDir = await realpath(outputDir);
  const files: CollectedFile[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (typeof path !== 'string' || path === '') {
      return { status: 'failed', error: `returned ${JSON.stringify(path) ?? String(path)} where a CSV file path was expected` };
    }
    const absolute = resolve(outputDir, path);
    let real: string;
    try {
      real = await realpath(absolute);
    } catch {
      return { status: 'failed', error: `returned ${path}, which does not exist` };
    }
    const inside = relative(realDir, real);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      return { status: 'failed', error: `returned ${path}, which is outside its outputDir; write CSV files under ctx.outputDir` };
    }
    const info = await lstat(real);
    if (!info.isFile()) return { status: 'failed', error: `returned ${path}, which is not a regular file` };
    if (seen.has(real)) continue;
    seen.add(real);
    if (info.size === 0) continue;
    files.push({ name: `${key}.csv`, file: real, size: info.size });
  }
  return files.length === 0 ? { status: 'empty' } : { status: 'ok', files };
}
