/**
 * `--help` is answered by the bin from texts the build rendered (dist/cli/help-texts.json) without loading the
 * CLI. These tests prove the texts are exactly what commander prints for the program as the source defines it —
 * for every command, `--help` and `-h`, on a pipe (width 80) and on terminals of several widths — so they
 * cannot drift.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commandPaths, renderHelpTexts, type HelpTexts } from '../../src/cli/static-help.js';
import { BIN, cleanEnv, REPO, requireBuild } from '../helpers/fault-cli.js';

const TEXTS_FILE = join(REPO, 'dist', 'cli', 'help-texts.json');
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;
/** The program itself, without the bin's shortcut: what commander prints. */
const LIVE_SOURCE = `const { main } = await import(${JSON.stringify(join(REPO, 'dist', 'cli', 'main.js'))});
process.exitCode = await main(['node', 'analytics-collect', ...process.argv.slice(2)]);\n`;
let dir = '';
let live = '';

const run = (argv: string[]): { status: number | null; stdout: string; stderr: string } => {
  const result = spawnSync(argv[0]!, argv.slice(1), { env: cleanEnv(), encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};
const viaBin = (args: string[]): string[] => [process.execPath, BIN, ...args];
const viaProgram = (args: string[]): string[] => [process.execPath, live, ...args];
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** Runs `argv` with stdout on a pseudo-terminal `columns` wide. */
const onTerminal = (argv: string[], columns: number): string[] => [
  'script',
  '-qec',
  `stty cols ${columns}; ${argv.map(quote).join(' ')}`,
  '/dev/null',
];

describe('static --help', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ac-help-'));
    live = join(dir, 'live.mjs');
    writeFileSync(live, LIVE_SOURCE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the built texts are the ones the source renders', () => {
    requireBuild();
    assert.ok(existsSync(TEXTS_FILE), 'dist/cli/help-texts.json is missing: run `npm run build`');
    assert.deepEqual(JSON.parse(readFileSync(TEXTS_FILE, 'utf8')) as HelpTexts, renderHelpTexts());
  });

  it('the bin prints what commander prints, for every command, --help and -h (stdout a pipe)', () => {
    requireBuild();
    const paths = commandPaths();
    assert.ok(paths.some((p) => p.join(' ') === 'state set'), 'subcommands are included');
    for (const path of paths) {
      for (const flag of ['--help', '-h']) {
        const args = [...path, flag];
        const expected = run(viaProgram(args));
        assert.equal(expected.status, 0, expected.stderr);
        assert.match(expected.stdout, /^Usage: analytics-collect/);
        assert.deepEqual(run(viaBin(args)), expected, args.join(' '));
      }
    }
  });

  it('on a terminal, the bin prints what commander prints at that width', { skip: HAS_SCRIPT ? false : 'needs `script` from util-linux' }, () => {
    requireBuild();
    const texts = renderHelpTexts();
    for (const path of [[], ['gather'], ['state', 'set']]) {
      const { wideFrom } = texts[path.join(' ')]!;
      // 80, narrower and wider (commander's own path), the first width that no longer wraps, and wider still.
      for (const columns of [80, 60, 100, wideFrom - 1, wideFrom, 250]) {
        const args = [...path, '--help'];
        const expected = run(onTerminal(viaProgram(args), columns));
        assert.equal(expected.status, 0, expected.stdout);
        assert.match(expected.stdout, /^Usage: analytics-collect/);
        assert.equal(run(onTerminal(viaBin(args), columns)).stdout, expected.stdout, `${args.join(' ')} at ${columns} columns`);
      }
    }
  });
});
