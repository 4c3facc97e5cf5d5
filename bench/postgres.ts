/**
 * `npm run bench:pg` — the PostgreSQL source of the benchmark (issue 8): the same kind of rows as bench/run.ts in a
 * table, exported with `copyToCsv` into a CsvFileSplitter (100 MiB files), compared with `psql \copy` of the same
 * query. Prints wall seconds, MiB/s and the process's peak RSS for N = 30 and 300 MiB (`--large` adds 1000).
 *
 * Needs a PostgreSQL server: ANALYTICS_BENCH_PG_URL, default postgresql://root@127.0.0.1:5432/test (the machines'
 * local server). Everything it creates is in the table `analytics_collect_bench`, kept between runs (seeding is slow).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CsvFileSplitter } from '../src/collect/csv-splitter.js';
import { copyToCsv } from '../src/postgres/index.js';

const URL = process.env.ANALYTICS_BENCH_PG_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const MIB = 1024 * 1024;
const ROW_BYTES = 93;
const TABLE = 'analytics_collect_bench';
const sizes = process.argv.includes('--large') ? [30, 300, 1000] : [30, 300];

async function seed(client: pg.Client, rows: number): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigint PRIMARY KEY, created timestamptz, ref text, label text, amount float8)`);
  const { rows: [have] } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${TABLE}`);
  if (Number(have!.n) >= rows) return;
  process.stderr.write(`seeding ${TABLE} up to ${rows} rows…\n`);
  await client.query(
    `INSERT INTO ${TABLE}
     SELECT i, timestamptz '2026-01-01 00:00:00+00' + i * interval '7.919 seconds',
            substr(md5(i::text), 1, 8) || '-' || substr(md5(i::text), 9, 4) || '-' || substr(md5(i::text), 13, 4) || '-' || substr(md5(i::text), 17, 12),
            (ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel'])[1 + i % 8] || ' ' ||
            (ARRAY['amber','basalt','cedar','dune','ember','fjord','kilo','lima'])[1 + (i / 8) % 8],
            round((i % 100000) * 1.37::numeric, 2)
     FROM generate_series($1::bigint, $2::bigint) AS i`,
    [Number(have!.n) + 1, rows],
  );
}

async function main(): Promise<void> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  const largest = Math.max(...sizes);
  await seed(client, Math.ceil((largest * MIB) / ROW_BYTES));
  await client.end();

  const results: string[] = ['| N (MiB) | rows | CSV MiB | copyToCsv s | MiB/s | files | peak RSS MiB | psql \\copy s |', '|---|---|---|---|---|---|---|---|'];
  for (const n of sizes) {
    const rows = Math.ceil((n * MIB) / ROW_BYTES);
    const query = `SELECT * FROM ${TABLE} WHERE id <= ${rows} ORDER BY id`;
    const dir = await mkdtemp(join(tmpdir(), 'ac-bench-pg-'));
    try {
      const start = process.hrtime.bigint();
      const out = new CsvFileSplitter({ path: join(dir, 'events.csv'), maxFileSize: 100 * MIB });
      const files = await copyToCsv({ connectionString: URL, query, out });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      let bytes = 0;
      for (const f of files) bytes += (await stat(f)).size;
      const rss = process.resourceUsage().maxRSS / 1024;
      const psqlStart = process.hrtime.bigint();
      execFileSync('psql', [URL, '-qAtc', `\\copy (${query}) to '/dev/null' with csv header`]);
      const psqlSeconds = Number(process.hrtime.bigint() - psqlStart) / 1e9;
      results.push(
        `| ${n} | ${rows} | ${(bytes / MIB).toFixed(1)} | ${seconds.toFixed(2)} | ${(bytes / MIB / seconds).toFixed(1)} | ${files.length} | ${rss.toFixed(0)} | ${psqlSeconds.toFixed(2)} |`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${results.join('\n')}\n`);
}

await main();
