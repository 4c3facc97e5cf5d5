/**
 * `npm run bench -- --wide`: four big unsliced tables collected at the same time (`concurrency` 4), each the
 * whole source table — the memory case of issue 16 ("with concurrency 4 and four big collectors too").
 */
import { register } from 'analytics-collect';
import { DAYS } from '../data.js';
import { writeDays } from '../collectors/_table.js';

export const config = register({ key: 'config', version: '1.0', config: true }, () => ({ product: 'analytics-collect-bench', version: '1.0.0' }));
export const wide1 = register({ key: 'wide_1', version: '1.0', format: 'csv' }, (ctx) => writeDays(ctx, 'wide_1', 0, DAYS));
export const wide2 = register({ key: 'wide_2', version: '1.0', format: 'csv' }, (ctx) => writeDays(ctx, 'wide_2', 0, DAYS));
export const wide3 = register({ key: 'wide_3', version: '1.0', format: 'csv' }, (ctx) => writeDays(ctx, 'wide_3', 0, DAYS));
export const wide4 = register({ key: 'wide_4', version: '1.0', format: 'csv' }, (ctx) => writeDays(ctx, 'wide_4', 0, DAYS));
