/**
 * `analytics-collect status [--max-age DURATION]` (contract §9): for monitoring. The last run, the last ship run
 * that exited 0, each key's position and lag, the tarballs waiting in `failed/`, the lock's holder; exit 1
 * ("unhealthy", with the reasons) or 0. It only reads: it never takes the run's lock.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { usageError } from '../../errors.js';
import { assessHealth, exitMeaning, formatAge, parseDuration, shortUtc, type Health } from '../../history/health.js';
import { historyStore, type HistoryEntry } from '../../history/index.js';
import { lockStatus, type LockStatus } from '../../history/lock-holder.js';
import { positionsOf } from '../../history/recorder.js';
import { pgCoordination } from '../../postgres/coordination.js';
import { fileStateStore } from '../../state/index.js';
import type { Outcome } from '../outcome.js';
import { formatBytes, formatDuration, table, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';
import { commandLabel } from './history.js';

export interface StatusFlags extends CommonFlags {
  maxAge?: string;
}

interface FailedTarball {
  path: string;
  bytes: number;
}

/** `signal` (SIGINT/SIGTERM) ends a wait on PostgreSQL at once: exit 130/143. */
export async function statusCommand(flags: StatusFlags, out: Output, signal?: AbortSignal): Promise<Outcome> {
  const maxAgeMs = flags.maxAge === undefined ? null : parseMaxAge(flags.maxAge);
  const { config } = await setup(flags, out, { defaultLevel: 'warn' });
  const bound = signal ? { signal } : {};
  const store = pgCoordination(config.coordination, bound)?.store ?? fileStateStore(config.stateFile);
  const history = historyStore(config, bound);
  signal?.throwIfAborted();
  const [entries, state, failed, lock] = await Promise.all([history.list(), store.read(), failedTarballs(config.output), lockStatus(config, new Date(), signal)]);
  const now = (await store.now?.()) ?? new Date();
  const health = assessHealth({ history: entries, positions: positionsOf(state), now, maxAgeMs, ...(flags.maxAge ? { maxAgeLabel: flags.maxAge.trim() } : {}) });
  if (flags.json) {
    out.result(
      JSON.stringify({
        healthy: health.healthy,
        reasons: health.reasons,
        maxAgeSeconds: maxAgeMs === null ? null : maxAgeMs / 1000,
        lastRun: health.lastRun,
        lastShipRun: health.lastShipRun,
        lastSuccessfulShipRun: health.lastSuccessfulShipRun,
        keys: health.keys,
        failedTarballs: failed,
        lock,
        history: history.describe(),
        state: store.describe(),
      }),
    );
  } else {
    out.result(statusText(health, { failed, lock, now, maxAgeMs, ...(flags.maxAge ? { maxAgeLabel: flags.maxAge.trim() } : {}), history: history.describe(), state: store.describe() }));
  }
  return health.healthy ? 'ok' : 'failed';
}

function parseMaxAge(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw usageError(`--max-age: "${text}" is not a duration; give a number and a unit: 90m, 26h or 7d (s, m, h, d, w)`);
  return ms;
}

/** The tarballs waiting in `<output>/failed/` (for `ship failed/*.tar.gz`), oldest name first. */
async function failedTarballs(output: string): Promise<FailedTarball[]> {
  const dir = join(output, 'failed');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.tar.gz')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found = await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      return info?.isFile() ? [{ path, bytes: info.size }] : [];
    }),
  );
  return found.flat();
}

interface StatusContext {
  failed: FailedTarball[];
  lock: LockStatus;
  now: Date;
  maxAgeMs: number | null;
  maxAgeLabel?: string;
  history: string;
  state: string;
}

export function statusText(health: Health, context: StatusContext): string {
  const { now } = context;
  const run = (e: HistoryEntry | null): string =>
    e === null
      ? 'none recorded'
      : `${commandLabel(e)}, started ${shortUtc(e.startedAt)} (${formatAge(now.getTime() - Date.parse(e.startedAt))} ago), exit ${e.exitCode} (${exitMeaning(e.exitCode)}), took ${formatDuration(Math.max(0, Date.parse(e.finishedAt) - Date.parse(e.startedAt)))}`;
  const lines = [
    health.healthy
      ? `healthy${context.maxAgeMs === null ? '' : ` (max age ${context.maxAgeLabel ?? formatAge(context.maxAgeMs)})`}`
      : `UNHEALTHY:\n${health.reasons.map((r) => `  - ${r}`).join('\n')}`,
    '',
    table(
      ['', ''],
      [
        ['last run:', run(health.lastRun)],
        ['last ship run:', run(health.lastShipRun)],
        ['last successful ship run:', health.lastSuccessfulShipRun === null ? 'none recorded' : `finished ${shortUtc(health.lastSuccessfulShipRun.finishedAt)} (${formatAge(now.getTime() - Date.parse(health.lastSuccessfulShipRun.finishedAt))} ago)`],
        ['tarballs in failed/:', context.failed.length === 0 ? 'none' : `${context.failed.length} (${formatBytes(context.failed.reduce((s, t) => s + t.bytes, 0))}); retry with: analytics-collect ship ${context.failed.length === 1 ? context.failed[0]!.path : '<output>/failed/*.tar.gz'}`],
        ['lock:', context.lock.held ? `held by ${context.lock.holder}` : 'free'],
        ['history:', context.history],
        ['state:', context.state],
      ],
    )
      .split('\n')
      .slice(1)
      .join('\n'),
  ];
  if (health.keys.length > 0) {
    lines.push('', table(['key', 'position (UTC)', 'lag'], health.keys.map((k) => [k.key, shortUtc(k.position).replace(' UTC', ''), formatAge(k.lagSeconds * 1000)])));
  } else {
    lines.push('', 'no key positions in the state yet');
  }
  return lines.join('\n');
}
