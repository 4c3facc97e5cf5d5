/**
 * What the two CSV collectors of the benchmark share: read the job description (BENCH_JOB), and write a range
 * of the table through CsvFileSplitter — as CSV text through `writable()` (the COPY-like path) or row by row
 * through `write(row)`.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CsvFileSplitter, type CollectorContext } from 'analytics-collect';
import { COLUMNS, row, type SourceTable } from '../data.js';

export interface BenchJob {
  source: SourceTable;
  /** `text`: stream the file through writable(); `rows`: make the rows and write() them. */
  path: 'text' | 'rows';
  /** First day of the sliced table (the run's --since). */
  since: string;
  /** Read size of the source file (a COPY stream hands over socket reads of about 64 KiB). */
  readChunk: number;
}

let job: BenchJob | undefined;

export function benchJob(): BenchJob {
  const file = process.env.BENCH_JOB;
  if (!file) throw new Error('BENCH_JOB is not set: run the collectors through `npm run bench`');
  job ??= JSON.parse(readFileSync(file, 'utf8')) as BenchJob;
  return job;
}

/** Writes days [fromDay, toDay) of the table (the whole table: 0 to DAYS) as `<key>.csv` files. */
export async function writeDays(ctx: CollectorContext, key: string, fromDay: number, toDay: number): Promise<string[]> {
  const { source, path, readChunk } = benchJob();
  const from = source.days[fromDay]!;
  const to = source.days[toDay]!;
  const out = new CsvFileSplitter({ path: join(ctx.outputDir, `${key}.csv`), maxFileSize: ctx.maxDataSize, columns: COLUMNS });
  if (path === 'rows') {
    for (let i = from.row; i < to.row; i++) await out.write(row(i));
    return out.close();
  }
  const header = createReadStream(source.path, { start: 0, end: source.headerBytes - 1 });
  const body = createReadStream(source.path, { start: from.byte, end: to.byte - 1, highWaterMark: readChunk });
  await pipeline(
    async function* () {
      yield* header;
      yield* body;
    },
    out.writable(),
    { signal: ctx.signal },
  );
  return out.close();
}
