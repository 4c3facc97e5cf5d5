/**
 * Is the collection healthy? (contract §9, `status`): pure, from the history (newest first), the keys'
 * positions and the clock. A "ship run" is `gather --ship`; the `ship` command does not count.
 */
import type { HistoryEntry } from './types.js';

export interface HealthInput {
  history: readonly HistoryEntry[];
  positions: ReadonlyMap<string, Date>;
  now: Date;
  /** `--max-age` in ms, or null without it. */
  maxAgeMs: number | null;
  /** `--max-age` as the user wrote it, for the reasons (default: the age formatted). */
  maxAgeLabel?: string;
}

export interface KeyLag {
  key: string;
  position: string;
  lagSeconds: number;
}

export interface Health {
  healthy: boolean;
  /** Why not, one sentence each; empty when healthy. */
  reasons: string[];
  lastRun: HistoryEntry | null;
  lastShipRun: HistoryEntry | null;
  lastSuccessfulShipRun: HistoryEntry | null;
  keys: KeyLag[];
}

const isShipRun = (e: HistoryEntry): boolean => e.command === 'gather' && e.mode === 'ship';

export function assessHealth(input: HealthInput): Health {
  const { history, now, maxAgeMs } = input;
  const lastShipRun = history.find(isShipRun) ?? null;
  const lastSuccessfulShipRun = history.find((e) => isShipRun(e) && e.exitCode === 0) ?? null;
  const keys = [...input.positions]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, at]) => ({ key, position: at.toISOString(), lagSeconds: Math.max(0, (now.getTime() - at.getTime()) / 1000) }));
  const reasons: string[] = [];
  if (lastShipRun !== null && lastShipRun.exitCode !== 0) {
    reasons.push(`the last ship run (gather --ship, started ${shortUtc(lastShipRun.startedAt)}) exited ${lastShipRun.exitCode} (${exitMeaning(lastShipRun.exitCode)})`);
  }
  if (maxAgeMs !== null) {
    const age = input.maxAgeLabel ?? formatAge(maxAgeMs);
    if (lastSuccessfulShipRun === null) {
      reasons.push(`no gather --ship succeeded within ${age}: none is in the history`);
    } else if (now.getTime() - Date.parse(lastSuccessfulShipRun.finishedAt) > maxAgeMs) {
      const ago = formatAge(now.getTime() - Date.parse(lastSuccessfulShipRun.finishedAt));
      reasons.push(`no gather --ship succeeded within ${age}: the last success finished ${shortUtc(lastSuccessfulShipRun.finishedAt)}, ${ago} ago`);
    }
    for (const k of keys) {
      if (k.lagSeconds * 1000 > maxAgeMs) reasons.push(`key ${k.key} lags ${formatAge(k.lagSeconds * 1000)} behind now, more than ${age} (position ${shortUtc(k.position)})`);
    }
  }
  return { healthy: reasons.length === 0, reasons, lastRun: history[0] ?? null, lastShipRun, lastSuccessfulShipRun, keys };
}

const EXIT_MEANINGS: Record<number, string> = {
  1: 'a collector or an upload failed',
  2: 'usage or configuration error',
  3: 'another gather held the lock',
  4: 'license invalid or shipping not configured',
  129: 'stopped by SIGHUP',
  130: 'stopped by SIGINT',
  143: 'stopped by SIGTERM',
};

export function exitMeaning(code: number): string {
  return code === 0 ? 'ok' : (EXIT_MEANINGS[code] ?? 'failed');
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90m`, `26h`, `7d` (also `s`, `w`) → ms; null when it is not such a duration. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (match === null) return null;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : null;
}

/** 45 min → `45m`, 26 h → `26h`, 3.5 days → `3d 12h`. */
export function formatAge(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 === 0 ? `${hours}h` : `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d ${hours % 24}h`;
}

/** `2026-11-28T01:33:06.000Z` → `2026-11-28 01:33 UTC`. */
export function shortUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
