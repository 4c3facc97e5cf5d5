/**
 * The one place that writes to stdout and stderr (the logger writes through `Output.log`). stdout carries the
 * result only; stderr carries logs, the progress line and the human summary.
 *
 * On a terminal, stderr may show a status line (the progress of `gather`) that is redrawn in place. Every other
 * write to the terminal first erases it and then draws it again underneath, so log lines and notes never end
 * up glued to a half-drawn status line.
 */
import type { Writable } from 'node:stream';

/** Carriage return, then erase the whole line: the cursor ends at column 0 of an empty line. */
export const CLEAR_LINE = '\r\u001b[2K';

export interface Output {
  /** One line (or document) of the machine-readable result, to stdout. */
  result(text: string): void;
  /** Human text for the person at the terminal (summaries, error messages), to stderr. */
  note(text: string): void;
  /** One formatted log line, to stderr; the logger's destination. */
  log(line: string): void;
  /**
   * Shows `line` as the status line at the bottom of the terminal, replacing the previous one; `''` erases it.
   * Does nothing unless stderr is a terminal. The caller keeps `line` shorter than `columns`.
   */
  status(line: string): void;
  /** For commander's own messages (help, usage errors). */
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** True when stderr is a terminal (progress, readable logs). */
  readonly interactive: boolean;
  /** The terminal's width, or 80 when unknown. */
  readonly columns: number;
}

export interface OutputStreams {
  stdout: Writable;
  stderr: Writable;
  /** Whether stderr is a terminal. */
  interactive: boolean;
  /** Whether stdout is the same terminal (then result lines must not land on the status line either). */
  stdoutInteractive?: boolean;
  columns?: number;
}

const DEFAULT_COLUMNS = 80;

const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/** An Output over any two streams; tests pass streams that record what is written. */
export function createOutput(streams: OutputStreams): Output {
  const { stdout, stderr, interactive } = streams;
  let shown = '';

  /** Writes `text` to `stream` with the status line lifted out of the way, and put back afterwards. */
  const around = (stream: Writable, text: string, onTerminal: boolean): void => {
    if (shown === '' || !onTerminal) {
      stream.write(text);
      return;
    }
    stderr.write(CLEAR_LINE);
    stream.write(text);
    stderr.write(shown);
  };

  return {
    result: (text) => around(stdout, line(text), streams.stdoutInteractive === true),
    note: (text) => around(stderr, line(text), true),
    log: (text) => around(stderr, line(text), true),
    status(text) {
      if (!interactive || text === shown) return;
      stderr.write(text === '' ? CLEAR_LINE : `${CLEAR_LINE}${text}`);
      shown = text;
    },
    stdout,
    stderr,
    interactive,
    get columns() {
      // A terminal of unknown size (a pty nobody sized, as under `script`) reports 0 columns.
      return streams.columns || (stderr as { columns?: number }).columns || DEFAULT_COLUMNS;
    },
  };
}

export function processOutput(): Output {
  return createOutput({
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stderr.isTTY === true,
    stdoutInteractive: process.stdout.isTTY === true,
  });
}

/** A plain text table: columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: readonly string[]): string =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [format(header), ...rows.map(format)].join('\n');
}

export { formatBytes } from '../format.js';

/** 950 → "950 ms", 4_250 → "4.3s", 61_500 → "1m 2s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds - minutes * 60;
  if (minutes < 60) return `${minutes}m ${rest.toFixed(0)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
