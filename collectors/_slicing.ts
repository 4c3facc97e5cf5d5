/**
 * Day slicing shared by the examples (files starting with `_` are helpers, not collectors).
 */
import type { SliceRequest } from 'analytics-collect';

const DAY_MS = 24 * 60 * 60 * 1000;
const FOUR_WEEKS_MS = 28 * DAY_MS;

/**
 * `[start, next UTC midnight)`, whole days, then `[last midnight, until)`. Starts at `--since` when given; else a
 * due full sync re-reads the whole four weeks; else it continues where this key stopped last time (or at the last
 * gather), never more than 4 weeks before `until` — the window rule the contract gives collectors without slicing.
 */
export function* byDay({ since, until, lastEntry, lastGather, fullSync }: SliceRequest): Generator<[Date, Date]> {
  const horizon = until.getTime() - FOUR_WEEKS_MS;
  let start = since ? since.getTime() : fullSync ? horizon : Math.max((lastEntry ?? lastGather).getTime(), horizon);
  while (start < until.getTime()) {
    const end = Math.min((Math.floor(start / DAY_MS) + 1) * DAY_MS, until.getTime());
    yield [new Date(start), new Date(end)];
    start = end;
  }
}
