/**
 * `npm run bench -- --io` (issue 16): collectors that wait on a database. Twelve csv collectors each wait 1 s (a
 * timer standing in for a query) and then write 1 MiB of CSV; the whole `gather` runs through the real CLI at
 * `concurrency` 1 and 4, measured from outside (wall time, peak RSS). Target: ≤ 3.5 s at 4, against ≈ 12 s at 1.
 *
 * With `--trace`, each collector writes when it started and returned (wall clock, to the 0.01 ms) to a file, and
 * the table is followed by where the run's own time went: from the spawn to the first collector's start, the
 * gaps between a collector's return and the next start, and from the last return to the process's exit.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure, type Measured } from './measure.js';

const COLLECTORS = 12;
const WAIT_MS = 1000;
const MIB = 1024 * 1024;

function collectorSource(i: number, trace: string | null): string {
  const mark = (what: string): string =>
    trace === null ? '' : `appendFileSync(${JSON.stringify(trace)}, \`${what} ${i} \${(performance.timeOrigin + performance.now()).toFixed(2)}\\n\`);`;
  return `import { register } from 'analytics-collect';
import { appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
export const io_${i} = register({ key: 'io_${i}', version: '1.0', format: 'csv' }, async (ctx) => {
  ${mark('start')}
  await sleep(${WAIT_MS}, undefined, { signal: ctx.signal });
  const row = 'id,name,value\\n' + '${i},collector ${i},'.padEnd(63, 'x') + '\\n';
  const file = join(ctx.outputDir, 'io.csv');
  await writeFile(file, row.repeat(Math.floor(${MIB} / row.length)));
  ${mark('end')}
  return file;
});
`;
}

/** Where the run's own time went, from the collectors' marks: ms after the spawn. */
function traceSummary(file: string, concurrency: number, spawnedAt: number, exitedAt: number): string {
  const marks = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [what, i, at] = line.split(' ');
      return { what: what!, i: Number(i), at: Number(at) - spawnedAt };
    })
    .sort((a, b) => a.at - b.at);
  const starts = marks.filter((m) => m.what === 'start');
  const ends = marks.filter((m) => m.what === 'end');
  const fmt = (ms: number): string => ms.toFixed(0);
  // With `concurrency` c, start k (k ≥ c) waits for the (k − c)th return to free a place.
  const sortedEnds = ends.map((e) => e.at);
  const gaps = starts.slice(concurrency).map((s, k) => fmt(s.at - sortedEnds[k]!));
  const lastEnd = Math.max(...ends.map((e) => e.at));
  return (
    `  trace: first start +${fmt(starts[0]!.at)} ms, starts ${starts.map((s) => fmt(s.at)).join(' ')}; ` +
    `returns ${sortedEnds.map(fmt).join(' ')}; gap return → next start ${gaps.join(' ')} ms; ` +
    `last return → exit ${fmt(exitedAt - spawnedAt - lastEnd)} ms (exit at +${fmt(exitedAt - spawnedAt)})`
  );
}

/** Runs the I/O-bound job at each concurrency; returns one table row per run (and a trace line with `trace`). */
export async function ioBench(cli: string, out: string, concurrencies: readonly number[] = [1, 4], trace = false): Promise<string[]> {
  const dir = join(out, 'io');
  rmSync(dir, { recursive: true, force: true });
  const collectors = join(dir, 'collectors');
  const traceFile = trace ? join(dir, 'trace.txt') : null;
  mkdirSync(collectors, { recursive: true });
  writeFileSync(join(collectors, '00-config.mjs'), `import { register } from 'analytics-collect';\nexport const config = register({ key: 'config', version: '1.0', config: true }, () => ({ product: 'io-bench' }));\n`);
  for (let i = 0; i < COLLECTORS; i++) writeFileSync(join(collectors, `io-${String(i).padStart(2, '0')}.mjs`), collectorSource(i, traceFile));
  const rows = [`| collectors | wait each | concurrency | wall s | peak RSS MiB | CPU s |`, '|---|---|---|---|---|---|'];
  const traces: string[] = [];
  for (const concurrency of concurrencies) {
    rmSync(join(dir, 'out'), { recursive: true, force: true });
    if (traceFile !== null) rmSync(traceFile, { force: true });
    const config = join(dir, `analytics-${concurrency}.config.json`);
    writeFileSync(
      config,
      JSON.stringify({ collectors, output: join(dir, 'out'), tmpDir: join(dir, 'tmp'), stateFile: join(dir, 'state', 'state.json'), concurrency }),
    );
    const spawnedAt = performance.timeOrigin + performance.now();
    const run: Measured = await measure(process.execPath, [join(cli, 'bin', 'analytics-collect'), 'gather', '--config', config, '--json', '--log-level', 'warn'], { cwd: dir });
    if (run.code !== 0) throw new Error(`gather exited ${run.code}:\n${run.stderr.slice(0, 4000)}`);
    const fmt = (x: number): string => x.toFixed(2);
    process.stderr.write(`  io: concurrency ${concurrency}: ${fmt(run.wallSeconds)} s, peak RSS ${(run.peakRssBytes / MIB).toFixed(1)} MiB\n`);
    rows.push(`| ${COLLECTORS} × 1 MiB | ${WAIT_MS / 1000} s | ${concurrency} | ${fmt(run.wallSeconds)} | ${(run.peakRssBytes / MIB).toFixed(1)} | ${fmt(run.userSeconds + run.systemSeconds)} |`);
    if (traceFile !== null) traces.push(traceSummary(traceFile, concurrency, spawnedAt, spawnedAt + run.wallSeconds * 1000));
  }
  rmSync(dir, { recursive: true, force: true });
  return [...rows, ...traces];
}
