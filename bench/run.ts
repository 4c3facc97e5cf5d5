/**
 * `npm run bench`: the packing benchmark of issue 5, run end to end through the real CLI (see bench/README.md).
 *
 * For each size N (MiB): a deterministic source table of N MiB (bench/data.ts) and the collectors of
 * bench/collectors — the config collector, 5 JSON collectors of ~100 keys, the whole table as one unsliced CSV
 * collector and the same table sliced in 10 days of N/10 MiB, 2N MiB of CSV in all — with maxDataSize 100 MiB
 * and gzip level 6. `node bin/analytics-collect gather --json` runs as a child process, measured from outside
 * (bench/measure.ts); then the same CSV bytes go through `gzip -6` and `pigz -6 -p <cores>`.
 *
 * Flags:
 *   --sizes 30,300     sizes N in MiB (default 30,300); --large adds 1000
 *   --path text|rows|both   CSV text through writable() (default), rows through write(row), or both
 *   --repeat K         run each job K times; the table shows the median wall time and the worst peak RSS
 *   --verify           read every tarball back and check the CSV bytes
 *   --no-compare       skip gzip/pigz
 *   --no-build         reuse the CLI built by the last run; --cli DIR runs another built tree (bin/, dist/)
 *   --node-flags=...   flags for the child node, e.g. --node-flags=--max-semi-space-size=1
 *   --cpu-prof         write the child's CPU profiles to bench/out/prof
 *   --setup-only       set up the first job, print its command line and exit (to run it under a profiler)
 *   --read-chunk BYTES read size of the source file (default 64 KiB, about what a COPY stream hands over)
 *   --redact           with redaction rules on the CSV collectors (bench/redact.ts); --verify is skipped then
 *   --wide             four big unsliced tables at once (bench/collectors-wide): N MiB each, 4N in all
 *   --io               the I/O-bound job of bench/io.ts (at `concurrency` 1 and 4, or only at --concurrency K);
 *                      --trace adds when each collector started and returned, and the CLI's own time around them
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readTarball } from '../src/pack/read-tarball.js';
import { DAYS, makeSource, row, type SourceTable } from './data.js';
import { ioBench } from './io.js';
import { measure, type Measured } from './measure.js';
import type { BenchJob } from './collectors/_table.js';
import { BENCH_REDACT, BENCH_REDACT_ENV } from './redact.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const MIB = 1024 * 1024;
const MAX_DATA_SIZE = 100 * MIB;
const SINCE = '2026-01-01T00:00:00Z';
/** Tables of `--wide` (bench/collectors-wide). */
const WIDE_TABLES = 4;
const UNTIL = `2026-01-${String(1 + DAYS).padStart(2, '0')}T00:00:00Z`;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
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
    cli: { type: 'string' },
    redact: { type: 'boolean', default: false },
    io: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    mixed: { type: 'boolean', default: false },
    wide: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
  },
});

/** The CLI as built by build(): package.json, bin/analytics-collect, dist/ (or another such tree, --cli DIR). */
const CLI = values.cli === undefined ? join(OUT, 'cli') : resolve(values.cli);
const sizes = (values.sizes ?? (values.mixed ? '100' : '30,300')).split(',').map(Number);
if (values.large) sizes.push(1000);
if (sizes.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`--sizes ${values.sizes ?? ''}: give sizes in MiB, e.g. 30,300`);
if (!['text', 'rows', 'both'].includes(values.path)) throw new Error(`--path ${values.path}: use text, rows or both`);
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
 * Builds a private copy of the CLI under bench/out/cli (package.json, bin/, dist/ from `tsc -p tsconfig.build.json`
 * and scripts/build.ts):
 * the same files `npm run build` makes, but out of reach of anyone rebuilding the shared dist/ mid-run.
 */
function build(): void {
  if (values.cli !== undefined) {
    if (!existsSync(join(CLI, 'bin', 'analytics-collect'))) throw new Error(`--cli ${values.cli}: no bin/analytics-collect there`);
    return;
  }
  if (values['no-build'] && existsSync(join(CLI, 'dist', 'bundle', 'main.js'))) return;
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
  // The rest of `npm run build`: the bundled CLI the bin runs (dist/bundle) and the help texts.
  const bundle = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build.ts'), '--dist', join(CLI, 'dist')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (bundle.status !== 0) throw new Error('the build failed: scripts/build.ts');
  copyFileSync(join(ROOT, 'package.json'), join(CLI, 'package.json'));
  // The bin, its CommonJS helpers (cache-dir.cjs) and the package.json that makes them CommonJS (start-up).
  for (const file of readdirSync(join(ROOT, 'bin'))) copyFileSync(join(ROOT, 'bin', file), join(CLI, 'bin', file));
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
      collectors: join(ROOT, 'bench', values.wide ? 'collectors-wide' : 'collectors'),
      output: join(dir, 'out'),
      tmpDir: join(dir, 'tmp'),
      stateFile: join(dir, 'state', 'state.json'),
      maxDataSize: MAX_DATA_SIZE,
      gzipLevel: 6,
      ...(values.concurrency !== undefined ? { concurrency: Number(values.concurrency) } : {}),
      ...(values.redact ? { redact: BENCH_REDACT } : {}),
    }),
  );
  const nodeArgs: string[] = values['node-flags'].split(' ').filter(Boolean);
  if (values['cpu-prof']) {
    const profDir = join(OUT, 'prof', `${path}-${Math.round(source.bytes / MIB)}-${attempt}`);
    rmSync(profDir, { recursive: true, force: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  const args = [...nodeArgs, join(CLI, 'bin', 'analytics-collect'), 'gather', '--config', config, '--json', '--log-level', 'warn', '--since', SINCE, '--until', UNTIL];
  const env = { BENCH_JOB: join(dir, 'job.json'), ...(values.redact ? BENCH_REDACT_ENV : {}) };
  if (values['setup-only']) {
    // For profiling by hand: the job stays set up and the command is printed.
    process.stdout.write(`BENCH_JOB=${env.BENCH_JOB} node ${args.join(' ')}\n`);
    process.exit(0);
  }
  const run = await measure(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
  if (run.code !== 0) throw new Error(`gather exited ${run.code}:\n${run.stderr.slice(0, 4000)}`);
  const report = JSON.parse(run.stdout) as { tarballs: { path: string; bytes: number; error: string | null }[] };
  const failed = report.tarballs.filter((t) => t.error !== null);
  if (failed.length > 0) throw new Error(`tarballs not written: ${failed.map((t) => `${t.path}: ${t.error}`).join('; ')}`);
  if (values.verify && !values.redact) await verify(report.tarballs.map((t) => t.path), source);
  const leftovers = readdirSync(join(dir, 'out')).filter((name) => name.endsWith('.partial'));
  const tmpLeft = readdirSync(join(dir, 'tmp'));
  if (leftovers.length > 0 || tmpLeft.length > 0) throw new Error(`left behind: ${[...leftovers, ...tmpLeft].join(', ')}`);
  return {
    n: 0,
    path,
    csvBytes: values.wide ? WIDE_TABLES * source.bytes : jobCsvBytes(source),
    rows: source.rows * (values.wide ? WIDE_TABLES : 2),
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
      if (/^(big_table|daily_table|wide_\d)\.csv$/.test(m.name)) {
        csv += m.size;
        files++;
        if (m.size > MAX_DATA_SIZE) throw new Error(`${path}: ${m.name} is ${m.size} bytes, over maxDataSize`);
      }
    }
  }
  // Every record of the table twice (whole and by day; --wide: four times whole), plus one header line per file.
  const expected = (values.wide ? WIDE_TABLES : 2) * (source.bytes - source.headerBytes) + files * source.headerBytes;
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
  if (sink < 0) process.stderr.write(''); // uses `sink`, so the loop cannot be optimised away
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The run with the median wall time (the slower middle one for an even count), with the worst peak RSS. */
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
  if (values.io) {
    const only = values.concurrency === undefined ? undefined : [Number(values.concurrency)];
    process.stdout.write(`${(await ioBench(CLI, OUT, only, values.trace)).join('\n')}\n`);
    return;
  }
  mkdirSync(join(OUT, 'data'), { recursive: true });
  const gzip = !values['no-compare'] && !values.mixed && has('gzip');
  const pigz = !values['no-compare'] && has('pigz');
  process.stderr.write(`node ${process.version}, ${cores} cores, sizes ${sizes.join(', ')} MiB, path ${paths.join('+')}${values.redact ? ', with redaction' : ''}\n`);
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
      const summary = median(runs);
      if (gz) summary.gzip = gz;
      if (pz) summary.pigz = pz;
      if (path === 'rows') {
        const s = rowSourceSeconds(summary.rows);
        process.stderr.write(`  row source alone (making ${summary.rows} rows, no CSV): ${fmt(s, 2)} s\n`);
      }
      results.push(summary);
    }
  }
  rmSync(join(OUT, 'run'), { recursive: true, force: true });
  printTable(results);
}

function printTable(results: Result[]): void {
  const lines = [
    `node ${process.version}, ${cores} cores (availableParallelism), maxDataSize 100 MiB, gzip level 6, RSS by ${results[0]?.run.method ?? '-'}` +
      (values.redact ? ', with redaction (bench/redact.ts)' : ''),
    '',
    '| N | path | CSV MiB | wall s | MiB/s | records/s | peak RSS MiB | CPU s | tarballs | compressed | gzip -6 s | × gzip time | pigz -p' +
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
