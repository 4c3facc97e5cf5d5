/**
 * `--help` without loading the CLI (start-up time): the build renders what commander prints for every `--help`
 * and `-h` into dist/cli/help-texts.json, and the bin (CommonJS, like `--version`) prints it from there. The texts
 * are commander's own output for the real program, so they cannot drift from it; a test compares them with what
 * the program prints.
 *
 * Commander wraps descriptions to the terminal's width (80 when stdout is not a terminal). Each text is kept for
 * width 80 and for "wide" — any width of at least `wideFrom`, where nothing wraps; the bin uses the program itself
 * for other widths.
 */
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram } from './program.js';
import { createOutput } from './output.js';

export interface HelpText {
  /** The text at width 80 (stdout is not a terminal, or one 80 columns wide). */
  narrow: string;
  /** The text at any width from `wideFrom` up. */
  wide: string;
  wideFrom: number;
}

export interface HelpTexts {
  /** By command path joined by one space (`''`, `gather`, `state set`): what `<path> --help` (or `-h`) prints. */
  [path: string]: HelpText;
}

const WIDEST = 1000;

/** Every command path that has help: `[]` (the program), `['gather']`, `['state', 'set']`… (`help` aside). */
export function commandPaths(): string[][] {
  const paths: string[][] = [[]];
  const walk = (cmd: Command, path: string[]): void => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      paths.push([...path, sub.name()]);
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(render([], 80).program, []);
  return paths;
}

/** What the program prints on stdout for `args` with help `width` columns wide. */
export function helpOutput(args: readonly string[], width: number): string {
  return render(args, width).stdout;
}

function render(args: readonly string[], width: number): { program: Command; stdout: string } {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const out = createOutput({ stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), interactive: false });
  const program = buildProgram(out, new AbortController().signal, () => undefined);
  const withWidth = (cmd: Command): void => {
    cmd.configureOutput({ ...cmd.configureOutput(), getOutHelpWidth: () => width });
    cmd.commands.forEach(withWidth);
  };
  withWidth(program);
  if (args.length > 0) {
    try {
      program.parse(['node', 'analytics-collect', ...args]);
    } catch (err) {
      if ((err as { exitCode?: unknown }).exitCode !== 0) throw err;
    }
    if (stderr !== '' || stdout === '') throw new Error(`${args.join(' ')}: no help on stdout (stderr: ${stderr})`);
  }
  return { program, stdout };
}

/** Renders every help text (the build writes them to dist/cli/help-texts.json). */
export function renderHelpTexts(): HelpTexts {
  const texts: HelpTexts = {};
  for (const path of commandPaths()) {
    const args = [...path, '--help'];
    const wide = helpOutput(args, WIDEST);
    // The narrowest width from which the text no longer changes. Above 80 columns a wider terminal only ever
    // unwraps lines, so once the text equals the widest one it stays equal: a binary search finds the edge.
    let low = 80; // changes the text, or is the narrow text anyway
    let high = WIDEST; // equals `wide`
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (helpOutput(args, mid) === wide) high = mid;
      else low = mid;
    }
    texts[path.join(' ')] = { narrow: helpOutput(args, 80), wide, wideFrom: high };
  }
  return texts;
}
