/**
 * Example: export the `events` table, one UTC day per slice, through PostgreSQL's COPY (no row-by-row work in
 * Node). Set ANALYTICS_PG_URL to the database; see README.md beside this file.
 */
import { join } from 'node:path';
import { CsvFileSplitter, register, type SliceRequest } from 'analytics-collect';
import { copyToCsv } from 'analytics-collect/postgres';

const DAY_MS = 86_400_000;
const FOUR_WEEKS_MS = 28 * DAY_MS;

/**
 * Slicing: `[start, next UTC midnight)`, whole days, then `[last midnight, until)`. Starts at `--since` when
 * given, else where this key stopped last time (or at the last gather), never more than 4 weeks before
 * `until` — the window rule the contract gives collectors without slicing. (Exported for tests; the loader
 * ignores exports that are not collectors.)
 */
export function* byDay({ since, until, lastGather, lastEntry }: SliceRequest): Generator<[Date, Date]> {
  let start = since?.getTime() ?? Math.max((lastEntry ?? lastGather).getTime(), until.getTime() - FOUR_WEEKS_MS);
  while (start < until.getTime()) {
    const end = Math.min((Math.floor(start / DAY_MS) + 1) * DAY_MS, until.getTime());
    yield [new Date(start), new Date(end)];
    start = end;
  }
}

export const events = register(
  {
    key: 'events',
    version: '1.0',
    format: 'csv',
    description: 'rows of the events table created in the window, one UTC day per slice (PostgreSQL COPY)',
    slicing: byDay,
  },
  async (ctx) => {
    const connectionString = process.env['ANALYTICS_PG_URL'];
    if (connectionString === undefined || connectionString === '') {
      throw new Error('events: set ANALYTICS_PG_URL to the PostgreSQL database holding the events table');
    }
    const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'events.csv'), maxFileSize: ctx.maxDataSize });
    return copyToCsv({
      connectionString,
      out,
      signal: ctx.signal,
      query: 'SELECT id, created, kind, payload FROM events WHERE created >= $1 AND created < $2 ORDER BY created, id',
      params: [ctx.since, ctx.until],
    });
  },
);
