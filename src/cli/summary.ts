/**
 * The human summary after `gather` and `ship`, written to stderr (stdout stays the machine-readable result).
 * Pure: report in, text out; the commands print it.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { GatherReport, TarballReport } from '../gather.js';
import { CONFIG_FILE, MANIFEST_FILE, STATUS_FILE } from '../pack/members.js';
import { formatBytes, formatDuration, table } from './output.js';

/** At most this many tarball rows; more are folded into one line (rows that say something went wrong never are). */
export const MAX_TARBALL_ROWS = 12;
/** At most this many failed collections are listed one by one. */
const MAX_FAILED_ROWS = 10;
/** The members column is cut to this many characters. */
const MEMBERS_WIDTH = 40;

const FIXED_MEMBERS = new Set([CONFIG_FILE, MANIFEST_FILE, STATUS_FILE].map((name) => name.replace(/^\.\//, '')));

export interface SummaryOptions {
  /** Paths under it are shown relative to it. */
  cwd: string;
  /** How long the command took. */
  elapsedMs: number;
  /** `--keep` was given. */
  keep?: boolean;
}

/** `/work/p/analytics-out/x.tar.gz` → `analytics-out/x.tar.gz` when under `cwd`. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : path;
}

/** The data members of a tarball (not config, status or manifest), cut to fit a column. */
export function dataMembers(members: readonly string[]): string {
  const names = [...new Set(members.map((m) => m.replace(/^\.\//, '')).filter((m) => !FIXED_MEMBERS.has(m)))];
  if (names.length === 0) return '(status only)';
  let text = '';
  for (let i = 0; i < names.length; i++) {
    const next = text === '' ? names[i]! : `${text}, ${names[i]}`;
    const rest = names.length - i - 1;
    if (next.length > MEMBERS_WIDTH && text !== '') return `${text} +${names.length - i}`;
    text = next;
    if (rest === 0) return text;
  }
  return text;
}

/** What became of a tarball, in a few words, from its recorded disposition. */
export function tarballOutcome(t: TarballReport, mode: 'dry-run' | 'ship', keep = false): string {
  if (t.disposition === 'unwritten') return `not written: ${t.error ?? 'the run stopped first'}`;
  if (mode === 'dry-run') return 'written';
  if (t.shipped) {
    const request = t.requestId ? ` (request ${t.requestId})` : '';
    return keep || t.disposition === 'kept' ? `shipped${request}, kept` : `shipped${request}`;
  }
  if (t.disposition === 'failed') return `kept in failed/ because: ${t.error ?? 'not shipped'}`;
  if (t.disposition === 'pruned') return `not kept (ship.keepFailed): ${t.error ?? 'not shipped'}`;
  return t.error === null ? 'not shipped' : `not shipped: ${t.error}`;
}

const isRoutine = (t: TarballReport, mode: 'dry-run' | 'ship'): boolean =>
  mode === 'dry-run' ? t.disposition !== 'unwritten' : t.shipped;

/** The tarball table, with routine rows folded into one line when there are many. */
function tarballTable(report: GatherReport, options: SummaryOptions): string[] {
  const rows = report.tarballs.map((t) => ({ t, routine: isRoutine(t, report.mode) }));
  const problems = rows.filter((r) => !r.routine).length;
  const routineShown = Math.max(3, MAX_TARBALL_ROWS - problems);
  let routineSeen = 0;
  const shown: string[][] = [];
  let foldedCount = 0;
  let foldedBytes = 0;
  for (const { t, routine } of rows) {
    if (routine && ++routineSeen > routineShown) {
      foldedCount++;
      foldedBytes += t.bytes;
      continue;
    }
    shown.push([displayPath(t.path, options.cwd), t.bytes > 0 ? formatBytes(t.bytes) : '-', dataMembers(t.members), tarballOutcome(t, report.mode, options.keep)]);
  }
  const lines = [table(['tarball', 'size', 'data', report.mode === 'ship' ? 'upload' : 'status'], shown, '  ')];
  if (foldedCount > 0) {
    const what = report.mode === 'ship' ? 'shipped' : 'written';
    lines.push(`  … and ${foldedCount} more ${what} (${formatBytes(foldedBytes)}); stdout${report.mode === 'ship' ? '' : ' or --json'} lists them all`);
  }
  return lines;
}

/** The summary of a `gather` run, several lines, no trailing newline. */
export function gatherSummary(report: GatherReport, options: SummaryOptions): string {
  const lines: string[] = [];
  if (report.configError !== null) {
    lines.push(`The config collector failed: ${report.configError}. No tarball was written.`);
  } else if (report.tarballs.length > 0) {
    lines.push(...tarballTable(report, options));
  } else {
    lines.push(report.interrupted ? 'No tarball: the run was stopped first.' : 'No tarball: nothing to gather in this window.');
  }

  if (report.fatal !== null) lines.push('', `The run stopped early: ${report.fatal}`);

  const failed = report.collections.filter((c) => c.status === 'failed');
  if (failed.length > 0) {
    lines.push('', 'Failed collectors:');
    for (const c of failed.slice(0, MAX_FAILED_ROWS)) {
      lines.push(`  ${c.key} (${shortDate(c.since)} → ${shortDate(c.until)}): ${c.error ?? 'failed'}`);
    }
    if (failed.length > MAX_FAILED_ROWS) lines.push(`  … and ${failed.length - MAX_FAILED_ROWS} more (see the log, or --json)`);
  }

  const ok = report.collections.filter((c) => c.status === 'ok').length;
  const empty = report.collections.filter((c) => c.status === 'empty').length;
  const bytes = report.tarballs.reduce((sum, t) => sum + t.bytes, 0);
  const counts = [`${ok} ok`, ...(empty > 0 ? [`${empty} empty`] : []), ...(failed.length > 0 ? [`${failed.length} failed`] : [])];
  const tarballs = report.tarballs.filter((t) => t.bytes > 0).length;
  const shipped = report.tarballs.filter((t) => t.shipped).length;
  const window = report.since === null ? `until ${shortDate(report.until)}` : `${shortDate(report.since)} → ${shortDate(report.until)}`;
  const what =
    report.mode === 'ship'
      ? `${tarballs} tarball${tarballs === 1 ? '' : 's'} (${formatBytes(bytes)}), ${shipped} shipped`
      : `${tarballs} tarball${tarballs === 1 ? '' : 's'} written (${formatBytes(bytes)})`;
  const headline =
    `${report.mode === 'ship' ? 'Ship run' : 'Dry run'}: ${report.collections.length} collection${report.collections.length === 1 ? '' : 's'} ` +
    `(${counts.join(', ')}), ${what}; window ${window}; ${formatDuration(options.elapsedMs)}` +
    (report.interrupted ? ' — stopped by a signal' : '');
  lines.push('', headline);
  if (report.mode === 'ship' && report.failed && report.configError === null) {
    lines.push('The state advanced only for what the ingress accepted: the next run gathers the rest again.');
  }
  return lines.join('\n');
}

/** One result of `ship TARBALL...`: what a run reports of a tarball, but its disposition (the file stays). */
export type ShipCommandResult = Omit<TarballReport, 'disposition'>;

/** The summary of a `ship` command. */
export function shipSummary(results: readonly ShipCommandResult[], options: SummaryOptions & { interrupted?: boolean; total: number }): string {
  const rows = results.map((r) => [
    displayPath(r.path, options.cwd),
    formatBytes(r.bytes),
    dataMembers(r.members),
    r.shipped ? `shipped${r.requestId ? ` (request ${r.requestId})` : ''}` : `failed: ${r.error ?? 'unknown error'}`,
  ]);
  const shipped = results.filter((r) => r.shipped).length;
  const lines = rows.length > 0 ? [table(['tarball', 'size', 'data', 'upload'], rows, '  '), ''] : [];
  lines.push(
    `Shipped ${shipped} of ${options.total} tarball${options.total === 1 ? '' : 's'}; ${formatDuration(options.elapsedMs)}` +
      (options.interrupted ? ' — stopped by a signal' : '') +
      (shipped < options.total ? '. The files were left where they are.' : ''),
  );
  return lines.join('\n');
}

/** `2026-11-28T00:00:00.000Z` → `2026-11-28`; other instants to the second, `2026-11-28 04:05:39Z`. */
export function shortDate(iso: string): string {
  if (iso.endsWith('T00:00:00.000Z')) return iso.slice(0, 10);
  return `${iso.slice(0, 19).replace('T', ' ')}Z`;
}
