/**
 * The one place that writes to stdout and stderr (besides the logger). stdout carries the result only.
 */
import type { Writable } from 'node:stream';

export interface Output {
  /** One line (or document) of the machine-readable result, to stdout. */
  result(text: string): void;
  /** Human text for the person at the terminal (summaries, tables of `list`), to stderr. */
  note(text: string): void;
  /** Tables and documents that ARE the result of `list`, `state`, `inspect`: stdout. */
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** True when stderr is a terminal (progress, pretty logs). */
  readonly interactive: boolean;
}

export function processOutput(): Output {
  return {
    result: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stderr.isTTY === true,
  };
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
