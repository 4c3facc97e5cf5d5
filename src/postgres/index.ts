/**
 * `analytics-collect/postgres`: the COPY fast path for collectors that export PostgreSQL tables (contract §8).
 * Needs the optional peer dependencies `pg` and `pg-copy-streams` (`npm install pg pg-copy-streams`); they are
 * loaded only when a function here is called.
 */
export { copyToCsv, type CopyToCsvOptions } from './copy.js';
