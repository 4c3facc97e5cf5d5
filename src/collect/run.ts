/**
 * Runs one collection — a collector over one window or slice — and checks what it returned (contract §2).
 * Never throws for a collector's fault: the outcome says `failed` with a one-line reason.
 */
import { lstat, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { join, relative, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { RedactConfig } from '../config/types.js';
import { redactOutcome } from '../redact/outcome.js';
import { rulesFor } from '../redact/rules.js';
import type { RedactionSummary } from '../redact/types.js';
import { ContainedError, contained } from './contain.js';
import { watchFinishedFiles } from './finished.js';
import type { Collector, CollectorContext } from './register.js';
import { cleanStack, describeThrown, locationSuffix, stackOf } from './where.js';

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
  /**
   * The collector failed after it returned (a stray rejection or exception of its code, `process.exit()` from
   * a timer): the run should count it as failed if it still can. Always logged and counted for the exit status.
   */
  onLateFailure?: (message: string) => void;
  /**
   * Told of each CSV file a CsvFileSplitter finished in the collection's `outputDir` while the collector runs
   * (a hint, see finished.ts) — for a collector with redaction rules, of each redacted file instead: those are
   * the ones placed.
   */
  onFileFinished?: (file: string, size: number) => void;
  /** Told how much of a CSV file the collector's splitter (or redaction) is writing is final so far (finished.ts). */
  onFileGrown?: (file: string, size: number) => void;
}

/**
 * Runs the collector, contained (see contain.ts), waiting at most `timeoutMs`; a timed-out collector is
 * abandoned, its late output ignored. What it does wrong after it returned goes to `onLateFailure`.
 */
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
  const label = `collector "${collector.key}"`;
  // Shown and counted (exit 1) by the containment; the run may also mark the collection failed.
  const onLate = (message: string): void => input.onLateFailure?.(message);
  let collected: CollectionOutcome;
  const { onFileFinished } = input;
  const unwatch = onFileFinished && rulesFor(input.redact, collector.key) === null ? watchFinishedFiles(outputDir, onFileFinished, input.onFileGrown) : undefined;
  try {
    const value = await contained(() => collector.fn(ctx), { label, timeoutMs: input.timeoutMs, signal: input.signal, onLate }).finally(unwatch);
    collected = collector.format === 'json' ? await jsonOutcome(collector.key, value, outputDir) : await csvOutcome(collector.key, value, outputDir);
  } catch (err) {
    if (err instanceof ContainedError && err.timedOut) timeout.abort(new Error(err.message));
    collected = failure(err, input);
  }
  // Redaction (src/redact): replaces the collector's files before anything places them; may fail the collection.
  const { outcome, redaction } = await redactOutcome(collected, {
    key: collector.key, format: collector.format, redact: input.redact, maxDataSize: input.maxDataSize, outputDir, signal: input.signal,
    ...(onFileFinished ? { onFileFinished } : {}),
    ...(input.onFileGrown ? { onFileGrown: input.onFileGrown } : {}),
  });
  // Nothing of a failed or empty collection is kept: its files must not fill tmpDir for the collectors after it.
  if (outcome.status !== 'ok') await rm(outputDir, { recursive: true, force: true });
  return { outcome, startedAt, finishedAt: now(), outputDir, redaction };
}

/** The failed outcome for what the collector threw: one line with its own file:line; the stack at debug level. */
function failure(err: unknown, input: RunCollectionInput): CollectionOutcome {
  if (input.signal.aborted) return { status: 'failed', error: 'stopped by a signal' };
  if (err instanceof ContainedError) {
    return err.timedOut ? { status: 'failed', error: err.message, timedOut: true } : { status: 'failed', error: err.message };
  }
  const stack = stackOf(err);
  if (stack !== undefined) input.logger.debug({ collector: input.collector.key, stack: cleanStack(stack) }, 'where the collector failed');
  return { status: 'failed', error: `${describeThrown(err)}${locationSuffix(err)}` };
}

async function jsonOutcome(key: string, value: unknown, outputDir: string): Promise<CollectionOutcome> {
  if (value === undefined || value === null) return { status: 'empty' };
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { status: 'failed', error: `returned a value that is not JSON-serialisable: ${describeThrown(err)}` };
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
