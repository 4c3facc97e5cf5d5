/**
 * Start-up time of the CLI as ratios to `node -e 0` on the same machine (median of N runs each, default 10):
 * `--version`, `--help`, and `list` of the example collectors (./collectors). Targets (issue 11): `--version`
 * and `--help` <= 1.5x, `list` <= 3x. Runs the built CLI (`npm run build` first).
 *
 *   npm run bench:startup [-- --runs 10]
 *
 * The runs are interleaved (one of each command per round), so that a machine getting busier or quieter during
 * the measurement shifts every command alike instead of favouring the ones measured first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'analytics-collect');
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag === -1 ? 10 : Number(process.argv[runsFlag + 1]);

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
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

/** Wall time of one run in ms; the command must succeed. The bin runs under its own node flags (the shebang). */
function once(args: string[]): number {
  const start = process.hrtime.bigint();
  const isBin = args[0] === BIN;
  const result = spawnSync(isBin ? BIN : process.execPath, isBin ? args.slice(1) : args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CI: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`);
  return ms;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// One warm-up round (file system caches, and the compiled-TypeScript cache of the example collectors).
for (const c of CASES) once(c.args);
const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
for (let round = 0; round < RUNS; round++) for (const c of CASES) times.get(c.name)!.push(once(c.args));

const base = median(times.get('node -e 0')!);
const lines = [`start-up, median of ${RUNS} runs (node ${process.version}, ${process.platform}/${process.arch})`];
let missed = 0;
for (const c of CASES) {
  const m = median(times.get(c.name)!);
  const ratio = m / base;
  const verdict = c.target === null ? '' : ratio <= c.target ? `  ok (target <= ${c.target}x)` : `  OVER (target <= ${c.target}x)`;
  if (c.target !== null && ratio > c.target) missed++;
  lines.push(`  ${c.name.padEnd(28)} ${m.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}x${verdict}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exitCode = missed > 0 ? 1 : 0;
