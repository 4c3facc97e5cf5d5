import { join } from 'node:path';
import { CsvFileSplitter, register } from 'analytics-collect';
import { openExampleDb } from './_example-db.js';
import { byDay } from './_slicing.js';

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
    const db = await openExampleDb();
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
