/**
 * Start-up time of the CLI as ratios to `node -e 0` on the same machine (median of N runs each, default 10):
 * `--version`, `--help`, and `list` of the example collectors (./collectors). Targets (issue 11): `--version`
 * and `--help` <= 1.5x, `list` <= 3x. Runs the built CLI (`npm run build` first).
 *
 *   npm run bench:startup [-- --runs 10]
 *
 * The runs are interleaved (one of each command per round), so that a machine getting busier or quieter during
 * the measurement shifts every command alike instead of favouring the ones measured first. Where GNU time is
 * installed (/usr/bin/time) the CPU time (user + system, children included) is shown too: on a busy machine wall
 * time mostly measures the queue for a core, CPU time what the command itself costs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { loadavg as osLoad, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'analytics-collect');
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag === -1 ? 10 : Number(process.argv[runsFlag + 1]);

if (!existsSync(join(ROOT, 'dist', 'bundle', 'cli.cjs'))) {
  process.stderr.write('dist/ is missing: run `npm run build` first\n');
  process.exit(2);
}

interface Case {
  name: string;
  args: string[];
  target: number | null;
}

const CASES: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'], target: null },
  { name: '--version', args: [BIN, '--version'], target: 1.5 },
  { name: '--help', args: [BIN, '--help'], target: 1.5 },
  { name: 'list (example collectors)', args: [BIN, 'list', '--collectors', join(ROOT, 'collectors')], target: 3 },
];

const GNU_TIME = '/usr/bin/time';
const timeFile = join(tmpdir(), `ac-startup-${process.pid}.time`);
const withCpu = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%U', '-o', timeFile, 'true']).status === 0;

/**
 * Wall time (and CPU time, or NaN) of one run in ms; the command must succeed. The bin runs under its own node
 * flags (the shebang). GNU time's own cost is the same for every command, node -e 0 included.
 */
function once(args: string[]): { wall: number; cpu: number } {
  const isBin = args[0] === BIN;
  const command = [isBin ? BIN : process.execPath, ...(isBin ? args.slice(1) : args)];
  const argv = withCpu ? [GNU_TIME, '-f', '%U %S', '-o', timeFile, ...command] : command;
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CI: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  const cpu = withCpu ? readFileSync(timeFile, 'utf8').trim().split(/\s+/).reduce((sum, s) => sum + Number(s) * 1000, 0) : NaN;
  return { wall, cpu };
}

const loadavg = (): string => osLoad().map((l) => l.toFixed(1)).join(' ');

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// One warm-up round (file system caches, the compiled-TypeScript cache of the example collectors, and the code
// cache each command writes on its first run, bin/analytics-collect).
for (const c of CASES) once(c.args);
const times = new Map<string, { wall: number; cpu: number }[]>(CASES.map((c) => [c.name, []]));
for (let round = 0; round < RUNS; round++) for (const c of CASES) times.get(c.name)!.push(once(c.args));
rmSync(timeFile, { force: true });

const medianOf = (name: string, what: 'wall' | 'cpu'): number => median(times.get(name)!.map((t) => t[what]));
const base = { wall: medianOf('node -e 0', 'wall'), cpu: medianOf('node -e 0', 'cpu') };
const lines = [
  `start-up, median of ${RUNS} runs (node ${process.version}, ${process.platform}/${process.arch}, load ${loadavg()})`,
  `  ${''.padEnd(28)}  wall time          ${withCpu ? 'CPU time (user + sys)' : ''}`,
];
let missed = 0;
for (const c of CASES) {
  const wall = medianOf(c.name, 'wall');
  const ratio = wall / base.wall;
  const verdict = c.target === null ? '' : ratio <= c.target ? `ok (<= ${c.target}x)` : `OVER (> ${c.target}x)`;
  if (c.target !== null && ratio > c.target) missed++;
  const cpu = medianOf(c.name, 'cpu');
  const cpuText = withCpu ? `${cpu.toFixed(0).padStart(5)} ms  ${(cpu / base.cpu).toFixed(2)}x` : '';
  lines.push(`  ${c.name.padEnd(28)} ${wall.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}x  ${cpuText}  ${verdict}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exitCode = missed > 0 ? 1 : 0;
