/**
 * `npm run bench -- --io` (issue 16): collectors that wait on a database. Twelve csv collectors each wait 1 s (a
 * timer standing in for a query) and then write 1 MiB of CSV; the whole `gather` runs through the real CLI at
 * `concurrency` 1 and 4, measured from outside (wall time, peak RSS). Target: ≤ 3.5 s at 4, against ≈ 12 s at 1.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure, type Measured } from './measure.js';

const COLLECTORS = 12;
const WAIT_MS = 1000;
const MIB = 1024 * 1024;

function collectorSource(i: number): string {
  return `import { register } from 'analytics-collect';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
export const io_${i} = register({ key: 'io_${i}', version: '1.0', format: 'csv' }, async (ctx) => {
  await sleep(${WAIT_MS}, undefined, { signal: ctx.signal });
  const row = 'id,name,value\\n' + '${i},collector ${i},'.padEnd(63, 'x') + '\\n';
  const file = join(ctx.outputDir, 'io.csv');
  await writeFile(file, row.repeat(Math.floor(${MIB} / row.length)));
  return file;
});
`;
}

/** Runs the I/O-bound job at each concurrency; returns one table row per run. */
export async function ioBench(cli: string, out: string, concurrencies: readonly number[] = [1, 4]): Promise<string[]> {
  const dir = join(out, 'io');
  rmSync(dir, { recursive: true, force: true });
  const collectors = join(dir, 'collectors');
  mkdirSync(collectors, { recursive: true });
  writeFileSync(join(collectors, '00-config.mjs'), `import { register } from 'analytics-collect';\nexport const config = register({ key: 'config', version: '1.0', config: true }, () => ({ product: 'io-bench' }));\n`);
  for (let i = 0; i < COLLECTORS; i++) writeFileSync(join(collectors, `io-${String(i).padStart(2, '0')}.mjs`), collectorSource(i));
  const rows = [`| collectors | wait each | concurrency | wall s | peak RSS MiB | CPU s |`, '|---|---|---|---|---|---|'];
  for (const concurrency of concurrencies) {
    rmSync(join(dir, 'out'), { recursive: true, force: true });
    const config = join(dir, `analytics-${concurrency}.config.json`);
    writeFileSync(
      config,
      JSON.stringify({ collectors, output: join(dir, 'out'), tmpDir: join(dir, 'tmp'), stateFile: join(dir, 'state', 'state.json'), concurrency }),
    );
    const run: Measured = await measure(process.execPath, [join(cli, 'bin', 'analytics-collect'), 'gather', '--config', config, '--json', '--log-level', 'warn'], { cwd: dir });
    if (run.code !== 0) throw new Error(`gather exited ${run.code}:\n${run.stderr.slice(0, 4000)}`);
    const fmt = (x: number): string => x.toFixed(2);
    process.stderr.write(`  io: concurrency ${concurrency}: ${fmt(run.wallSeconds)} s, peak RSS ${(run.peakRssBytes / MIB).toFixed(1)} MiB\n`);
    rows.push(`| ${COLLECTORS} × 1 MiB | ${WAIT_MS / 1000} s | ${concurrency} | ${fmt(run.wallSeconds)} | ${(run.peakRssBytes / MIB).toFixed(1)} | ${fmt(run.userSeconds + run.systemSeconds)} |`);
  }
  rmSync(dir, { recursive: true, force: true });
  return rows;
}
