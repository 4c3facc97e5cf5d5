/**
 * Time windows (contract §4): the run's window, each collector's window, and the slices a slicing function yields.
 *
 * Everything here is pure apart from `collectSlices`, which drives a user's slicing function. The clock is a
 * parameter (`now`), never read here, so every clamp rule can be tested at any instant.
 */
import { ContainedError, contained } from '../collect/contain.js';
import type { SliceRequest, SlicingFunction } from '../collect/register.js';
import { describeThrown, locationSuffix } from '../collect/where.js';
import { usageError } from '../errors.js';
import type { State } from '../types.js';

/** The longest window one run gathers, and how far back `lastGather` may reach. */
export const FOUR_WEEKS_MS = 28 * 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RunWindowInput {
  /** `--since`, already parsed. */
  since?: Date;
  /** `--until`, already parsed. */
  until?: Date;
  now: Date;
  state: State;
}

export interface RunWindow {
  /** `--since`, or null when not given. */
  since: Date | null;
  until: Date;
  /** The state's last gather, never earlier than `until - 4 weeks`. */
  lastGather: Date;
  /** One line per flag value that was changed, saying what and why. */
  warnings: string[];
}

/**
 * Resolves the run's window from the flags, the clock and the state.
 *
 * @throws AppError('USAGE') for a `--since` in the future, or `--since` not before `until`.
 */
export function resolveRunWindow({ since, until: untilFlag, now, state }: RunWindowInput): RunWindow {
  const warnings: string[] = [];
  if (since !== undefined && since.getTime() > now.getTime()) {
    throw usageError(`--since ${iso(since)} is in the future (now is ${iso(now)}); give a date in the past`);
  }

  let until: Date;
  if (untilFlag === undefined) {
    // With --since alone a run still gathers at most 4 weeks.
    until = since === undefined ? now : minDate(addMs(since, FOUR_WEEKS_MS), now);
  } else {
    until = untilFlag;
    if (until.getTime() > now.getTime()) {
      warnings.push(`--until ${iso(until)} is in the future; using now (${iso(now)}) instead, as data from the future cannot be gathered`);
      until = now;
    }
    if (since !== undefined && until.getTime() > since.getTime() + FOUR_WEEKS_MS) {
      const cut = addMs(since, FOUR_WEEKS_MS);
      warnings.push(`--until ${iso(until)} is more than 4 weeks after --since; using ${iso(cut)} instead, as one run gathers at most 4 weeks`);
      until = cut;
    }
  }

  if (since !== undefined && since.getTime() >= until.getTime()) {
    const end = untilFlag === undefined ? `the run's end (${iso(until)}, now)` : `--until (${iso(until)})`;
    throw usageError(`--since ${iso(since)} must be earlier than ${end}; give an earlier --since or a later --until`);
  }

  const floor = addMs(until, -FOUR_WEEKS_MS);
  const lastGather = state.lastGather === null ? floor : maxDate(state.lastGather, floor);
  // Fresh Date objects: callers hand these to user code, which must not be able to change ours.
  return { since: since === undefined ? null : copy(since), until: copy(until), lastGather: copy(lastGather), warnings };
}

// YYYY-MM-DD, optionally followed by THH:MM[:SS[.fraction]] and an offset (Z or ±HH:MM / ±HHMM / ±HH); a space may
// stand for the T, as RFC 3339 allows ("2026-11-30 10:00").
const DATE_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * Parses a DATE flag value: ISO 8601 (`2026-11-01`, `2026-11-01T12:00`, `2026-11-01T12:00:00.5Z`,
 * `2026-11-01T12:00:00+02:00`). A value without an offset is UTC. Fractions beyond milliseconds are truncated.
 *
 * @throws AppError('USAGE') naming the flag and the expected format.
 */
export function parseDateFlag(flag: string, value: string): Date {
  const parsed = parseIsoDate(value);
  if (parsed instanceof Date) return parsed;
  throw usageError(
    `${flag} ${JSON.stringify(value)} ${parsed.problem}; use an ISO 8601 date like 2026-11-01 or 2026-11-01T12:00:00Z (no offset means UTC)`,
  );
}

/**
 * The strict ISO 8601 parser behind `parseDateFlag`, also used for dates read back from a state store.
 * Returns the date, or what is wrong with the text.
 */
export function parseIsoDate(value: string): Date | { problem: string } {
  const m = typeof value === 'string' ? DATE_PATTERN.exec(value) : null;
  if (m === null) return { problem: 'is not a date' };
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) => Number(part ?? 0)) as [
    number, number, number, number, number, number,
  ];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12) return { problem: 'has no such month' };
  if (day < 1 || day > daysInMonth(year, month)) return { problem: 'has no such day' };
  if (hour > 23 || minute > 59 || second > 59) return { problem: 'has no such time of day' };
  const offsetMin = parseOffset(m[8]);
  if (offsetMin === null) return { problem: 'has an invalid UTC offset' };

  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return new Date(date.getTime() - offsetMin * 60_000);
}

/** Minutes east of UTC, or null when out of range. */
function parseOffset(text: string | undefined): number | null {
  if (text === undefined || text === 'Z') return 0;
  const digits = text.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return null;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

export interface CollectorWindowInput {
  key: string;
  /** `--since`, or null. */
  since: Date | null;
  until: Date;
  lastGather: Date;
  state: State;
}

/**
 * The window of a collector without slicing: `--since` if given, else
 * `max(state.entries[key] ?? lastGather, until - 4 weeks)`, to `until`.
 *
 * @returns null when the window is empty (the collector is not called this run).
 */
export function collectorWindow({ key, since, until, lastGather, state }: CollectorWindowInput): { since: Date; until: Date } | null {
  const start = since ?? maxDate(state.entries[key] ?? lastGather, addMs(until, -FOUR_WEEKS_MS));
  if (start.getTime() >= until.getTime()) return null;
  return { since: copy(start), until: copy(until) };
}

export interface SliceRequestInput {
  key: string;
  /** `--since`, or null. */
  since: Date | null;
  until: Date;
  lastGather: Date;
  state: State;
  /** The collector's `fullSyncIntervalDays`, if any. */
  fullSyncIntervalDays?: number | undefined;
  now: Date;
}

/**
 * The argument a slicing function is called with. `fullSync` is true when `fullSyncIntervalDays` is set and
 * `state.entries['<key>_full']` is missing or older than that many days before `now`.
 */
export function sliceRequest({ key, since, until, lastGather, state, fullSyncIntervalDays, now }: SliceRequestInput): SliceRequest {
  const lastFull = state.entries[`${key}_full`];
  const fullSync =
    fullSyncIntervalDays !== undefined &&
    (lastFull === undefined || lastFull.getTime() < now.getTime() - fullSyncIntervalDays * DAY_MS);
  const entry = state.entries[key];
  return {
    key,
    since: since === null ? null : copy(since),
    until: copy(until),
    lastGather: copy(lastGather),
    lastEntry: entry === undefined ? null : copy(entry),
    fullSync,
  };
}

/** Bounds on a slicing function (contract §2): each call and each step of its iterator. */
export interface SliceOptions {
  /** `collectorTimeoutMs`: how long one call, or one step of its iterator, may take. Default: unbounded. */
  timeoutMs?: number;
  /** A failure of the slicer after its step ended (a stray rejection): the run fails the collector. */
  onLateFailure?: (message: string) => void;
}

/**
 * Calls a slicing function and yields its slices one at a time, checking each: it must be a pair of valid
 * Dates with `since < until`. Lazy, so the pipeline can gather (and ship) slice by slice; stopping early
 * (`break`) closes the slicer's iterator. The call and each step of the iterator are contained (contract §2):
 * bounded by `timeoutMs`, and `process.exit()` or a stray error of the slicer's code fails it.
 *
 * @throws Error with a message naming the key and the slice at fault (the caller fails that collector);
 *   the signal's reason when `signal` is aborted.
 */
export async function* collectSlices(
  slicing: SlicingFunction,
  request: SliceRequest,
  signal?: AbortSignal,
  options: SliceOptions = {},
): AsyncGenerator<[Date, Date], void, undefined> {
  const where = `slicing of "${request.key}"`;
  const step = <T>(fn: () => T | PromiseLike<T>): Promise<T> =>
    contained(fn, {
      label: `collector "${request.key}" (slicing)`,
      timeoutMs: options.timeoutMs ?? MAX_TIMER_MS,
      ...(signal ? { signal } : {}),
      ...(options.onLateFailure ? { onLate: options.onLateFailure } : {}),
    }).catch((err: unknown) => {
      if (signal?.aborted) throw signal.reason;
      throw new Error(`${where} failed: ${err instanceof ContainedError ? err.message : `${describeThrown(err)}${locationSuffix(err)}`}`, { cause: err });
    });
  signal?.throwIfAborted();
  const returned: unknown = await step(() => slicing(request));
  if (!isIterable(returned)) {
    throw new Error(`${where} returned ${describe(returned)}, not an iterable of [since, until] Date pairs`);
  }
  const iterable = returned as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
  const asyncIterator = iterable[Symbol.asyncIterator];
  const iterator: Iterator<unknown> | AsyncIterator<unknown> = asyncIterator
    ? asyncIterator.call(iterable)
    : (iterable[Symbol.iterator] as () => Iterator<unknown>).call(iterable);
  let index = 0;
  let done = false;
  try {
    while (true) {
      signal?.throwIfAborted();
      // A sync iterator may yield promises (as `for await` allows): each is awaited within the same bound.
      const result = await step(async () => {
        const next = await iterator.next();
        return next.done ? next : { done: false, value: await next.value };
      });
      if (result.done) {
        done = true;
        return;
      }
      yield checkSlice(result.value, index, where);
      index++;
    }
  } finally {
    // Stopped early (a failure, `break`, a signal): let the slicer clean up, within the same bound.
    if (!done && typeof iterator.return === 'function') await step(() => iterator.return!()).catch(() => undefined);
  }
}

/** The longest delay a Node.js timer keeps (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

function checkSlice(item: unknown, index: number, where: string): [Date, Date] {
  const at = `${where}: slice ${index + 1}`;
  if (!Array.isArray(item) || item.length !== 2) {
    throw new Error(`${at} is ${describe(item)}, not a [since, until] pair`);
  }
  const [since, until] = item as [unknown, unknown];
  if (!isValidDate(since) || !isValidDate(until)) {
    throw new Error(`${at} is [${describe(since)}, ${describe(until)}]; both ends must be valid Date objects`);
  }
  if (since.getTime() >= until.getTime()) {
    throw new Error(`${at} [${iso(since)}, ${iso(until)}] does not have since < until`);
  }
  // Copies, so a slicer that reuses or mutates its Date objects cannot change a slice already handed out.
  return [copy(since), copy(until)];
}

function isIterable(value: unknown): boolean {
  if (value === null || value === undefined || typeof value === 'string') return false;
  const object = value as Record<symbol, unknown>;
  return typeof object[Symbol.iterator] === 'function' || typeof object[Symbol.asyncIterator] === 'function';
}

// Checked by tag, not instanceof, so Dates from another realm (vm contexts, workers' copies) still count.
function isValidDate(value: unknown): value is Date {
  return Object.prototype.toString.call(value) === '[object Date]' && !Number.isNaN((value as Date).getTime());
}

function describe(value: unknown): string {
  if (isValidDate(value)) return iso(value);
  if (Object.prototype.toString.call(value) === '[object Date]') return 'an invalid Date';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object' || typeof value === 'function') return `a ${typeof value}`;
  return typeof value === 'symbol' ? value.toString() : `${value as number | boolean | bigint | undefined}`;
}

const iso = (date: Date): string => date.toISOString();
const copy = (date: Date): Date => new Date(date.getTime());
const addMs = (date: Date, ms: number): Date => new Date(date.getTime() + ms);
const minDate = (a: Date, b: Date): Date => (a.getTime() <= b.getTime() ? a : b);
const maxDate = (a: Date, b: Date): Date => (a.getTime() >= b.getTime() ? a : b);
