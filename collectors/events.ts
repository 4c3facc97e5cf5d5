import { join } from 'node:path';
import { CsvFileSplitter, register, type SliceRequest } from 'analytics-collect';
import { openExampleDb } from './_example-db.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const FOUR_WEEKS_MS = 28 * DAY_MS;

/**
 * Day slicing: from `--since`, else from where the last run stopped (or the last gather), to `until`, cut at UTC
 * midnights. A full sync goes back the whole four weeks.
 */
export function* byDay({ since, until, lastEntry, lastGather, fullSync }: SliceRequest): Generator<[Date, Date]> {
  const horizon = until.getTime() - FOUR_WEEKS_MS;
  // --since wins; a due full sync re-reads the whole four weeks; otherwise continue where the last run stopped.
  let start = since ? since.getTime() : fullSync ? horizon : Math.max((lastEntry ?? lastGather).getTime(), horizon);
  while (start < until.getTime()) {
    const end = Math.min((Math.floor(start / DAY_MS) + 1) * DAY_MS, until.getTime());
    yield [new Date(start), new Date(end)];
    start = end;
  }
}

/**
 * A CSV collector streaming a table, one day per slice: rows go through CsvFileSplitter, which starts a new file
 * before one would exceed `maxDataSize`, so memory stays flat however many rows there are.
 */
export const events = register(
  {
    key: 'events',
    version: '1.0',
    format: 'csv',
    description: 'job events from the example SQLite database, one day per slice',
    slicing: byDay,
    fullSyncIntervalDays: 7,
  },
  async (ctx) => {
    const db = openExampleDb();
    try {
      const out = new CsvFileSplitter({
        path: join(ctx.outputDir, 'events.csv'),
        maxFileSize: ctx.maxDataSize,
        columns: ['id', 'created', 'kind', 'actor', 'duration_ms', 'note'],
      });
      const rows = db
        .prepare('SELECT id, created, kind, actor, duration_ms, note FROM events WHERE created >= ? AND created < ? ORDER BY id')
        .raw()
        .iterate(ctx.since.toISOString(), ctx.until.toISOString());
      for (const row of rows) {
        ctx.signal.throwIfAborted();
        await out.write(row as unknown[]);
      }
      return await out.close();
    } finally {
      db.close();
    }
  },
);
