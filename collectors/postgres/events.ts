/**
 * Example: export the `events` table, one UTC day per slice, through PostgreSQL's COPY (no row-by-row work in
 * Node). Set ANALYTICS_PG_URL to the database; see README.md beside this file.
 */
import { join } from 'node:path';
import { CsvFileSplitter, register } from 'analytics-collect';
import { copyToCsv } from 'analytics-collect/postgres';
import { byDay } from '../_slicing.js';

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
