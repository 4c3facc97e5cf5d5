/**
 * Turning what a command saw into its history entry (contract §9). Pure: the clock, host and ids come in.
 */
import { basename } from 'node:path';
import { MAX_ERRORS, type HistoryCommand, type HistoryEntry, type HistoryMode } from './types.js';

/** What the history needs of a tarball: a `gather` report's tarball or a `ship` command's result. */
export interface TarballFacts {
  path: string;
  bytes: number;
  shipped: boolean;
  requestId: string | null;
  error: string | null;
  /** What became of it on disk, when the run recorded it (§7). */
  disposition?: string;
}

export interface CollectionFacts {
  key: string;
  status: 'ok' | 'failed' | 'empty';
  since: string;
  error: string | null;
}

/** A `gather` report, or the `ship` command's results as one (no window, no collections). */
export interface ReportFacts {
  since: string | null;
  until: string | null;
  tarballs: readonly TarballFacts[];
  collections: readonly CollectionFacts[];
  configError?: string | null;
  fatal?: string | null;
}

export interface RunFacts {
  command: HistoryCommand;
  mode: HistoryMode;
  startedAt: Date;
  finishedAt: Date;
  exitCode: number;
  report: ReportFacts | null;
  /** Errors that ended the command (the message main printed), in order. */
  errors: readonly string[];
}

export interface EntryContext {
  id: string;
  host: string;
  pid: number;
  version: string;
  /** Applied to every error message: secrets out (§5). */
  redact: (text: string) => string;
}

/** Longest error message kept; a collector's stack or an ingress body is cut here. */
const MAX_ERROR_LENGTH = 500;

export function historyEntry(run: RunFacts, context: EntryContext): HistoryEntry {
  const report = run.report;
  const tarballs = report?.tarballs ?? [];
  const collections = report?.collections ?? [];
  const count = (status: CollectionFacts['status']): number => collections.filter((c) => c.status === status).length;
  const written = run.command === 'gather' ? tarballs.filter(isWritten) : [];
  const shipped = tarballs.filter((t) => t.shipped);
  return {
    id: context.id,
    command: run.command,
    mode: run.mode,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    since: windowStart(report),
    until: report?.until ?? null,
    exitCode: run.exitCode,
    collections: { ok: count('ok'), failed: count('failed'), empty: count('empty') },
    tarballs: { written: written.length, shipped: shipped.length, failed: tarballs.filter(isFailed).length },
    bytes: sum((run.command === 'gather' ? written : shipped).map((t) => t.bytes)),
    requestIds: shipped.flatMap((t) => (t.requestId ? [context.redact(t.requestId)] : [])),
    errors: errorsOf(run, context.redact),
    host: context.host,
    pid: context.pid,
    version: context.version,
  };
}

function isWritten(t: TarballFacts): boolean {
  return t.disposition !== undefined ? t.disposition !== 'unwritten' : t.bytes > 0;
}

/** Moved to failed/ (and maybe pruned there), or not written or not accepted because of an error. */
function isFailed(t: TarballFacts): boolean {
  return t.disposition === 'failed' || t.disposition === 'pruned' || (!t.shipped && t.error !== null);
}

/** The earliest collection's start (the window really gathered), else `--since`. */
function windowStart(report: ReportFacts | null): string | null {
  if (report === null) return null;
  const starts = report.collections.map((c) => c.since).filter((s) => s !== '').sort();
  return starts[0] ?? report.since;
}

function errorsOf(run: RunFacts, redact: (text: string) => string): string[] {
  const report = run.report;
  // What ended the run first: with many failing collections, the cap must not cut it off.
  const all = [
    ...run.errors,
    ...(report?.fatal ? [report.fatal] : []),
    ...(report?.configError ? [`config collector: ${report.configError}`] : []),
    ...(report?.collections ?? []).flatMap((c) => (c.error ? [`${c.key}: ${c.error}`] : [])),
    ...(report?.tarballs ?? []).flatMap((t) => (t.error ? [`${basename(t.path)}: ${t.error}`] : [])),
  ];
  const unique = [...new Set(all.map((e) => oneLine(redact(e))))];
  return unique.slice(0, MAX_ERRORS);
}

function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > MAX_ERROR_LENGTH ? `${line.slice(0, MAX_ERROR_LENGTH - 1)}…` : line;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
