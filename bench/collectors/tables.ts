/** The two CSV collectors: a big table gathered whole, and the same table sliced by day. */
import { register, type SliceRequest } from 'analytics-collect';
import { DAYS } from '../data.js';
import { benchJob, writeDays } from './_table.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One slice per day from --since to --until (the benchmark passes both). */
function* byDay({ since, until }: SliceRequest): Generator<[Date, Date]> {
  if (since === null) throw new Error('the benchmark runs with --since');
  for (let t = since.getTime(); t < until.getTime(); t += DAY_MS) yield [new Date(t), new Date(Math.min(t + DAY_MS, until.getTime()))];
}

export const bigTable = register({ key: 'big_table', version: '1.0', format: 'csv' }, (ctx) => writeDays(ctx, 'big_table', 0, DAYS));

export const dailyTable = register({ key: 'daily_table', version: '1.0', format: 'csv', slicing: byDay }, (ctx) => {
  const day = Math.round((ctx.since.getTime() - Date.parse(benchJob().since)) / DAY_MS);
  return writeDays(ctx, 'daily_table', day, day + 1);
});
