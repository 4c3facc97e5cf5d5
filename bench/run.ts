/**
 * `npm run bench`: the packing benchmark of issue 5, run end to end through the real CLI.
 *
 * For each size N (MiB): a deterministic source table of N MiB (bench/data.ts), a collectors directory
 * (bench/collectors: the config collector, 5 JSON collectors of ~100 keys, the whole table as one unsliced CSV
 * collector and the same table sliced in 10 days of N/10 MiB — 2N MiB of CSV in all), maxDataSize 100 MiB,
 * gzip level 6. `node bin/analytics-collect gather --json` runs as a child process, measured from outside
 * (bench/measure.ts); then the same CSV bytes go through `gzip -6` and `pigz -6 -p <cores>` for comparison.
 *
 * Flags: --sizes 30,300   --large (adds 1000)   --path text|rows|both (default text)   --repeat K (median)
 *        --no-build   --verify (read the tarballs back)   --cpu-prof (profiles into bench/out/prof)
 *        --node-flags '--max-semi-space-size=1' (flags for the child node)   --no-compare (skip gzip/pigz)   --setup-only (set up the first job, print its command, exit)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readTarball } from '../src/pack/write-tarball.js';
import { DAYS, makeSource, row, type SourceTable } from './data.js';
import { measure, type Measured } from './measure.js';
import type { BenchJob } from './collectors/_table.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
/** The CLI as built by build(): package.json, bin/analytics-collect, dist/. */
const CLI = join(OUT, 'cli');
const MIB = 1024 * 1024;
const MAX_DATA_SIZE = 100 * MIB;
const SINCE = '2026-01-01T00:00:00Z';
const UNTIL = `2026-01-${String(1 + DAYS).padStart(2, '0')}T00:00:00Z`;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '30,300' },
    large: { type: 'boolean', default: false },
    path: { type: 'string', default: 'text' },
    repeat: { type: 'string', default: '1' },
    'no-build': { type: 'boolean', default: false },
    verify: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'no-compare': { type: 'boolean', default: false },
    'read-chunk': { type: 'string', default: String(64 * 1024) },
    'setup-only': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
  },
});

const sizes = values.sizes.split(',').map(Number);
if (values.large) sizes.push(1000);
const paths: ('text' | 'rows')[] = values.path === 'both' ? ['text', 'rows'] : [values.path as 'text' | 'rows'];
const repeat = Math.max(1, Number(values.repeat));
const cores = availableParallelism();

interface Result {
  n: number;
  path: 'text' | 'rows';
  csvBytes: number;
  rows: number;
  run: Measured;
  compressed: number;
  tarballs: number;
  gzip?: { seconds: number; bytes: number };
  pigz?: { seconds: number; bytes: number };
}

/**
 * Builds a private copy of the CLI under bench/out/cli (package.json, bin/, dist/ from `tsc -p tsconfig.build.json`):
 * the same files `npm run build` makes, but out of reach of anyone rebuilding the shared dist/ mid-run.
 */
function build(): void {
  if (values['no-build'] && existsSync(join(CLI, 'dist', 'cli', 'main.js'))) return;
  process.stderr.write(`building the CLI into ${CLI} (tsc -p tsconfig.build.json)…\n`);
  rmSync(CLI, { recursive: true, force: true });
  mkdirSync(join(CLI, 'bin'), { recursive: true });
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(CLI, 'dist'), '--declaration', 'false'],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (!existsSync(join(CLI, 'dist', 'cli', 'main.js'))) throw new Error('the build failed: no dist/cli/main.js');
  if (tsc.status !== 0) process.stderr.write('warning: tsc reported errors (someone else\'s work in progress?); its output is used\n');
  copyFileSync(join(ROOT, 'package.json'), join(CLI, 'package.json'));
  copyFileSync(join(ROOT, 'bin', 'analytics-collect'), join(CLI, 'bin', 'analytics-collect'));
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The CSV bytes the job feeds into splitters: the whole table, then each day with its own header. */
function jobCsvBytes(source: SourceTable): number {
  return source.bytes + DAYS * source.headerBytes + (source.bytes - source.headerBytes);
}

async function runJob(source: SourceTable, path: 'text' | 'rows', attempt: number): Promise<Result> {
  const dir = join(OUT, 'run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const job: BenchJob = { source, path, since: SINCE, readChunk: Number(values['read-chunk']) };
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
  const config = join(dir, 'analytics.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      collectors: join(ROOT, 'bench', 'collectors'),
      output: join(dir, 'out'),
      tmpDir: join(dir, 'tmp'),
      stateFile: join(dir, 'state', 'state.json'),
      maxDataSize: MAX_DATA_SIZE,
      gzipLevel: 6,
    }),
  );
  const nodeArgs: string[] = values['node-flags'].split(' ').filter(Boolean);
  if (values['cpu-prof']) {
    const profDir = join(OUT, 'prof', `${path}-${Math.round(source.bytes / MIB)}-${attempt}`);
    rmSync(profDir, { recursive: true, force: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  const args = [...nodeArgs, join(CLI, 'bin', 'analytics-collect'), 'gather', '--config', config, '--json', '--log-level', 'warn', '--since', SINCE, '--until', UNTIL];
  const env = { BENCH_JOB: join(dir, 'job.json') };
  if (values['setup-only']) {
    // For profiling by hand: the job stays set up and the command is printed.
    process.stdout.write(`BENCH_JOB=${env.BENCH_JOB} ${process.execPath} ${args.join(' ')}\n`);
    process.exit(0);
  }
  const run = await measure(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
  if (run.code !== 0) throw new Error(`gather exited ${run.code}:\n${run.stderr.slice(0, 4000)}`);
  const report = JSON.parse(run.stdout) as { tarballs: { path: string; bytes: number; error: string | null }[] };
  const failed = report.tarballs.filter((t) => t.error !== null);
  if (failed.length > 0) throw new Error(`tarballs not written: ${failed.map((t) => `${t.path}: ${t.error}`).join('; ')}`);
  if (values.verify) await verify(report.tarballs.map((t) => t.path), source);
  const leftovers = readdirSync(join(dir, 'out')).filter((name) => name.endsWith('.partial'));
  const tmpLeft = readdirSync(join(dir, 'tmp'));
  if (leftovers.length > 0 || tmpLeft.length > 0) throw new Error(`left behind: ${[...leftovers, ...tmpLeft].join(', ')}`);
  return {
    n: 0,
    path,
    csvBytes: jobCsvBytes(source),
    rows: source.rows * 2,
    run,
    compressed: report.tarballs.reduce((sum, t) => sum + t.bytes, 0),
    tarballs: report.tarballs.length,
  };
}

/** Reads every tarball back: the CSV members must hold exactly the job's CSV bytes. */
async function verify(tarballs: string[], source: SourceTable): Promise<void> {
  let csv = 0;
  let files = 0;
  for (const path of tarballs) {
    const { members } = await readTarball(path, { keep: () => false });
    for (const m of members) {
      if (m.name === 'big_table.csv' || m.name === 'daily_table.csv') {
        csv += m.size;
        files++;
        if (m.size > MAX_DATA_SIZE) throw new Error(`${path}: ${m.name} is ${m.size} bytes, over maxDataSize`);
      }
    }
  }
  // Every record of the table twice (whole and by day), plus one header line per file.
  const expected = 2 * (source.bytes - source.headerBytes) + files * source.headerBytes;
  if (csv !== expected) throw new Error(`verify: CSV members hold ${csv} bytes, expected ${expected} (${files} files)`);
  process.stderr.write(`  verified: ${tarballs.length} tarballs, ${files} CSV members, ${csv} bytes\n`);
}

/** The job's CSV bytes (the table twice) through an external compressor, output to a file to count it. */
async function compare(command: string, args: string[], source: SourceTable): Promise<{ seconds: number; bytes: number }> {
  const file = join(OUT, 'compare.gz');
  const run = await measure(command, [...args, '-c', source.path, source.path], { stdoutFile: file });
  if (run.code !== 0) throw new Error(`${command} exited ${run.code}: ${run.stderr}`);
  const bytes = statSync(file).size;
  rmSync(file, { force: true });
  return { seconds: run.wallSeconds, bytes };
}

/** Time to make the rows alone (no CSV, no files), so the row path's figure can be read net of its source. */
function rowSourceSeconds(rows: number): number {
  const started = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < rows; i++) sink += row(i)[0];
  if (sink < 0) process.stderr.write('');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(results: Result[]): Result {
  const sorted = [...results].sort((a, b) => a.run.wallSeconds - b.run.wallSeconds);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  // Peak RSS: the worst of the runs, never the median.
  const peak = Math.max(...results.map((r) => r.run.peakRssBytes));
  return { ...mid, run: { ...mid.run, peakRssBytes: peak } };
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);
const mib = (bytes: number): string => fmt(bytes / MIB);

async function main(): Promise<void> {
  build();
  mkdirSync(join(OUT, 'data'), { recursive: true });
  const gzip = !values['no-compare'] && has('gzip');
  const pigz = !values['no-compare'] && has('pigz');
  process.stderr.write(`node ${process.version}, ${cores} cores, sizes ${sizes.join(', ')} MiB, path ${paths.join('+')}\n`);
  const results: Result[] = [];
  for (const n of sizes) {
    process.stderr.write(`N=${n}: making the source table…\n`);
    const source = makeSource(join(OUT, 'data', `table-${n}.csv`), n);
    let gz: Result['gzip'];
    let pz: Result['pigz'];
    if (gzip) gz = await compare('gzip', ['-6'], source);
    if (pigz) pz = await compare('pigz', ['-6', '-p', String(cores)], source);
    for (const path of paths) {
      const runs: Result[] = [];
      for (let k = 0; k < repeat; k++) {
        const result = await runJob(source, path, k);
        result.n = n;
        process.stderr.write(
          `  ${path} N=${n} #${k + 1}: ${fmt(result.run.wallSeconds, 2)} s, ${fmt(result.csvBytes / MIB / result.run.wallSeconds)} MiB/s, ` +
            `peak RSS ${mib(result.run.peakRssBytes)} MiB, cpu ${fmt(result.run.userSeconds + result.run.systemSeconds, 2)} s, ` +
            `${result.tarballs} tarballs, ${result.compressed} bytes\n`,
        );
        runs.push(result);
      }
      const best = median(runs);
      if (gz) best.gzip = gz;
      if (pz) best.pigz = pz;
      if (path === 'rows') {
        const s = rowSourceSeconds(best.rows);
        process.stderr.write(`  row source alone (making ${best.rows} rows, no CSV): ${fmt(s, 2)} s\n`);
      }
      results.push(best);
    }
  }
  rmSync(join(OUT, 'run'), { recursive: true, force: true });
  printTable(results);
}

function printTable(results: Result[]): void {
  const lines = [
    `node ${process.version}, ${cores} cores (availableParallelism), maxDataSize 100 MiB, gzip level 6, RSS by ${results[0]?.run.method ?? '-'}`,
    '',
    '| N | path | CSV MiB | wall s | MiB/s | rows/s | peak RSS MiB | CPU s | tarballs | compressed | gzip -6 s | × gzip time | pigz -p' +
      `${cores} s | × pigz time | size ÷ gzip -6 |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const wall = r.run.wallSeconds;
    lines.push(
      `| ${r.n} | ${r.path} | ${mib(r.csvBytes)} | ${fmt(wall, 2)} | ${fmt(r.csvBytes / MIB / wall)} | ${Math.round(r.rows / wall)} | ` +
        `${mib(r.run.peakRssBytes)} | ${fmt(r.run.userSeconds + r.run.systemSeconds, 2)} | ${r.tarballs} | ${r.compressed} | ` +
        `${r.gzip ? fmt(r.gzip.seconds, 2) : '-'} | ${r.gzip ? fmt(wall / r.gzip.seconds, 2) : '-'} | ` +
        `${r.pigz ? fmt(r.pigz.seconds, 2) : '-'} | ${r.pigz ? fmt(wall / r.pigz.seconds, 2) : '-'} | ` +
        `${r.gzip ? fmt(r.compressed / r.gzip.bytes, 3) : '-'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
