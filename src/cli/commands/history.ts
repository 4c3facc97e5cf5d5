/**
 * `analytics-collect history`: the last runs, newest first (contract §9).
 */
import { usageError } from '../../errors.js';
import { historyStore, type HistoryEntry } from '../../history/index.js';
import { escapeControlLine } from '../../secrets/index.js';
import type { Outcome } from '../outcome.js';
import { formatBytes, formatDuration, table, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';

export interface HistoryFlags extends CommonFlags {
  limit?: string;
}

const DEFAULT_LIMIT = 20;

/** `signal` (SIGINT/SIGTERM) ends a wait on PostgreSQL at once: exit 130/143. */
export async function historyCommand(flags: HistoryFlags, out: Output, signal?: AbortSignal): Promise<Outcome> {
  const limit = flags.limit === undefined ? DEFAULT_LIMIT : parseLimit(flags.limit);
  const { config } = await setup(flags, out, { defaultLevel: 'warn' });
  const store = historyStore(config, signal ? { signal } : {});
  signal?.throwIfAborted();
  const entries = await store.list(limit);
  if (flags.json) {
    out.result(JSON.stringify(entries));
    return 'ok';
  }
  if (entries.length === 0) {
    out.result(`no runs recorded yet in ${store.describe()}`);
    return 'ok';
  }
  out.result(historyTable(entries));
  return 'ok';
}

export function parseLimit(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw usageError(`--limit: "${text}" is not a whole number of at least 1; e.g. --limit 20`);
  return value;
}

/** One row per run: started, command and mode, window, exit, collections, tarballs, bytes, duration, first error. */
export function historyTable(entries: readonly HistoryEntry[]): string {
  const rows = entries.map((e) => [
    shortTime(e.startedAt),
    commandLabel(e),
    e.since === null && e.until === null ? '-' : `${e.since === null ? '…' : shortTime(e.since)} → ${e.until === null ? '…' : shortTime(e.until)}`,
    exitLabel(e.exitCode),
    e.command === 'gather' ? `${e.collections.ok}/${e.collections.failed}/${e.collections.empty}` : '-',
    e.command.startsWith('state') ? '-' : `${e.tarballs.written}/${e.tarballs.shipped}/${e.tarballs.failed}`,
    e.command.startsWith('state') ? '-' : formatBytes(e.bytes),
    formatDuration(Math.max(0, Date.parse(e.finishedAt) - Date.parse(e.startedAt))),
    escapeControlLine(e.errors[0] ?? '').slice(0, 80),
  ]);
  return table(
    ['started (UTC)', 'command', 'window (UTC)', 'exit', 'collections ok/failed/empty', 'tarballs written/shipped/failed', 'bytes', 'duration', 'first error'],
    rows,
  );
}

export function commandLabel(entry: Pick<HistoryEntry, 'command' | 'mode'>): string {
  if (entry.command === 'gather') return entry.mode === 'ship' ? 'gather --ship' : 'gather (dry run)';
  return entry.command;
}

const EXIT_NAMES: Record<number, string> = { 0: 'ok', 1: 'failed', 2: 'usage', 3: 'locked', 4: 'not configured', 129: 'SIGHUP', 130: 'SIGINT', 143: 'SIGTERM' };

export function exitLabel(code: number): string {
  const name = EXIT_NAMES[code];
  return name === undefined ? String(code) : `${code} ${name}`;
}

/** `2026-11-28T01:33:06.000Z` → `2026-11-28 01:33`. */
export function shortTime(iso: string): string {
  return iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso;
}
