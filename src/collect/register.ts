/**
 * The collector API that collector modules import (contract §2).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { didYouMean } from './suggest.js';
import { userFrame } from './where.js';

/** The context every collector function receives. */
export interface CollectorContext {
  /** Start of the window to collect (for a slice: the slice). */
  since: Date;
  /** End of the window to collect (exclusive by convention). */
  until: Date;
  /** Bytes of uncompressed data one tarball may hold. */
  maxDataSize: number;
  /** A fresh directory (mode 0700) for this collection; CSV collectors write their files here. */
  outputDir: string;
  mode: 'dry-run' | 'ship';
  /** Time of the last successful run, never earlier than `until - 4 weeks`. */
  lastGather: Date;
  /** A pino logger bound to this collector. */
  logger: Logger;
  /** Aborted on SIGINT/SIGTERM and when the collector times out. */
  signal: AbortSignal;
}

/** What a slicing function is asked (contract §4). */
export interface SliceRequest {
  key: string;
  /** `--since` when given, else null. */
  since: Date | null;
  until: Date;
  lastGather: Date;
  /** `state.entries[key]`, or null when the key has never been gathered. */
  lastEntry: Date | null;
  /** True when a full sync is due (see `fullSyncIntervalDays`). */
  fullSync: boolean;
}

/** Splits a collector's window into `[sliceSince, sliceUntil]` pairs, in order. */
export type SlicingFunction = (
  request: SliceRequest,
) => Iterable<readonly [Date, Date]> | AsyncIterable<readonly [Date, Date]> | Promise<Iterable<readonly [Date, Date]>>;

/** A JSON collector returns any JSON-serialisable value; `null`/`undefined` means nothing collected. */
export type JsonCollectorResult = unknown;
/** A CSV collector returns the path(s) of the CSV files it wrote inside `ctx.outputDir`. */
export type CsvCollectorResult = string | readonly string[] | null | undefined;

export interface CollectorMeta {
  /** Member name stem: `<key>.json` / `<key>.csv`. Pattern `[A-Za-z0-9][A-Za-z0-9_.-]*`. */
  key: string;
  /** Written to `manifest.json` for this member. */
  version: string;
  /** What `fn` produces; default `'json'`. */
  format?: 'json' | 'csv';
  /** Shown by `list`. */
  description?: string;
  /** Marks the one config collector (key `config`, json, no slicing). */
  config?: boolean;
  /** Splits the window into slices gathered one by one. */
  slicing?: SlicingFunction;
  /** Collectors of different groups never share a tarball; default `'default'`. */
  shippingGroup?: string;
  /** With `slicing`: every N days the slicer is asked for a full sync. */
  fullSyncIntervalDays?: number;
}

export type CollectorFunction = (ctx: CollectorContext) => unknown;

/** A registered collector, normalised. Opaque to collector authors. */
export interface Collector {
  readonly [COLLECTOR]: true;
  readonly key: string;
  readonly version: string;
  readonly format: 'json' | 'csv';
  readonly description: string;
  readonly config: boolean;
  readonly slicing: SlicingFunction | undefined;
  readonly shippingGroup: string;
  readonly fullSyncIntervalDays: number | undefined;
  readonly fn: CollectorFunction;
}

// A registry-wide symbol, so a collector made by another copy of this package is still recognised.
const COLLECTOR: unique symbol = Symbol.for('analytics-collect.collector') as never;

export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Keys become file names (`<key>.csv`, `<key>-<random>` directories): bounded well below NAME_MAX. */
export const MAX_KEY_LENGTH = 100;
const RESERVED_KEYS = new Set(['manifest', 'data_collection_status']);
const META_FIELDS = [
  'key', 'version', 'format', 'description', 'config', 'slicing', 'shippingGroup', 'fullSyncIntervalDays',
];

/** Thrown by `register()` for a bad definition; the loader adds the file name. */
export class CollectorDefinitionError extends Error {
  override readonly name = 'CollectorDefinitionError';
}

/**
 * While the loader imports a module, `register()` records problems in the module's list instead of throwing at
 * the first one, so that a module with several bad definitions is reported whole. Modules load at once, each
 * with its own list: the list is the one of the load `register()` is called from (its async context).
 */
const recordings = new AsyncLocalStorage<{ problems: string[]; open: boolean }>();
/**
 * Loads recording now; with none, the storage is disabled. Node 20 gives every promise made to each enabled
 * AsyncLocalStorage, and a collector writing rows makes one a row (`await out.write(row)`).
 */
let loading = 0;

/** Runs `load` with `register()` recording its problems; returns them (each one line, with the line number). */
export async function recordingDefinitionProblems<T>(load: () => Promise<T>): Promise<{ value: T; problems: string[] }> {
  const recording = { problems: [] as string[], open: true };
  loading++;
  try {
    return { value: await recordings.run(recording, load), problems: recording.problems };
  } finally {
    // A register() call that comes later from something the module started (a timer) throws, as outside a load.
    recording.open = false;
    if (--loading === 0) recordings.disable();
  }
}

/** A placeholder for a definition with problems while recording (never a collector). */
const INVALID = Object.freeze({ invalidCollectorDefinition: true });

/**
 * Declares a collector. Export the returned value from a module in the collectors directory.
 *
 * @example
 * export const hosts = register({ key: 'hosts', version: '1.0' }, async (ctx) => ({ count: 3 }));
 */
export function register(meta: CollectorMeta, fn: CollectorFunction): Collector {
  const problems = definitionProblems(meta, fn);
  if (problems.length > 0) {
    const where = meta !== null && typeof meta === 'object' && typeof meta.key === 'string' ? `collector "${meta.key}"` : 'collector';
    const message = `${where}: ${problems.join(', ')}`;
    const recording = recordings.getStore();
    if (recording?.open !== true) throw new CollectorDefinitionError(message);
    const frame = userFrame(new Error().stack);
    recording.problems.push(frame ? `line ${frame.line}: ${message}` : message);
    return INVALID as unknown as Collector;
  }
  const format = meta.format ?? 'json';
  return Object.freeze({
    [COLLECTOR]: true as const,
    key: meta.key,
    version: meta.version,
    format,
    description: meta.description ?? '',
    config: meta.config === true,
    slicing: meta.slicing,
    shippingGroup: meta.shippingGroup ?? 'default',
    fullSyncIntervalDays: meta.fullSyncIntervalDays,
    fn,
  });
}

/** Every problem of a definition (empty when it is fine). */
function definitionProblems(meta: CollectorMeta, fn: CollectorFunction): string[] {
  if (meta === null || typeof meta !== 'object') return ['register(meta, fn): meta must be an object'];
  const problems: string[] = [];
  const fail = (problem: string): void => void problems.push(problem);
  for (const field of Object.keys(meta)) {
    if (META_FIELDS.includes(field)) continue;
    const guess = didYouMean(field, META_FIELDS);
    fail(`unknown field "${field}"${guess === '' ? ` (allowed: ${META_FIELDS.join(', ')})` : guess}`);
  }
  const key: unknown = meta.key;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    fail(`key must match ${KEY_PATTERN.source} (letters, digits, "_", ".", "-"; no slashes)`);
  } else if (key.length > MAX_KEY_LENGTH) {
    fail(`key is ${key.length} characters long; at most ${MAX_KEY_LENGTH} are allowed`);
  }
  if (typeof fn !== 'function') fail('register(meta, fn): fn must be a function');
  if (typeof meta.version !== 'string' || meta.version === '') fail('version must be a non-empty string');
  const format: unknown = meta.format ?? 'json';
  if (format !== 'json' && format !== 'csv') fail(`format must be "json" or "csv", not ${JSON.stringify(meta.format)}`);
  if (meta.description !== undefined && typeof meta.description !== 'string') fail('description must be a string');
  if (meta.config !== undefined && typeof meta.config !== 'boolean') fail('config must be a boolean');
  if (meta.slicing !== undefined && typeof meta.slicing !== 'function') fail('slicing must be a function');
  const group: unknown = meta.shippingGroup ?? 'default';
  if (typeof group !== 'string' || group === '') fail('shippingGroup must be a non-empty string');
  const days: unknown = meta.fullSyncIntervalDays;
  if (days !== undefined) {
    if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0) fail('fullSyncIntervalDays must be a positive number');
    if (meta.slicing === undefined) fail('fullSyncIntervalDays needs slicing');
  }
  if (meta.config === true) {
    if (key !== 'config') fail('the config collector (config: true) must have key "config"');
    if (format !== 'json') fail('the config collector must have format "json"');
    if (meta.slicing !== undefined) fail('the config collector cannot have slicing');
  } else if (typeof key === 'string') {
    if (key === 'config') fail('key "config" is reserved for the config collector (add config: true)');
    if (RESERVED_KEYS.has(key)) fail(`key "${key}" is reserved`);
    if (key.endsWith('_full')) fail('keys ending in "_full" are reserved for full-sync state entries');
  }
  return problems;
}

/** True for a value returned by `register()` (from any copy of this package). */
export function isCollector(value: unknown): value is Collector {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[COLLECTOR] === true;
}
