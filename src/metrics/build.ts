/**
 * The metrics of contract §9 as Prometheus text, built with prom-client (no hand-written exposition format).
 * Pure apart from prom-client's own registry: everything it shows comes in as `MetricsInput`.
 */
import { Gauge, Registry } from 'prom-client';
import type { HistoryEntry } from '../history/types.js';

export interface MetricsInput {
  /** The history, newest first, this run's entry included (the last run and last success per command and mode). */
  history: readonly HistoryEntry[];
  /** This run's entry. */
  current: HistoryEntry;
  /** Compressed bytes this run wrote and had accepted. */
  bytes: { written: number; shipped: number };
  /** Seconds each collector (by key) spent collecting in this run. */
  collectorSeconds: ReadonlyMap<string, number>;
  /** Each key's position in the state this run read or wrote (`<key>_full` markers left out). */
  positions: ReadonlyMap<string, Date>;
  now: Date;
  version: string;
}

const PREFIX = 'analytics_collect_';

/** The commands whose runs the metrics describe (`state set|reset` leave them alone). */
const METRIC_COMMANDS = new Set(['gather', 'ship']);

export async function metricsText(input: MetricsInput): Promise<string> {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    new Gauge({ name: `${PREFIX}${name}`, help, labelNames, registers: [registry] });

  const lastRun = gauge('last_run_timestamp_seconds', 'When the last run of this command and mode finished (Unix time).', ['command', 'mode']);
  const exitCode = gauge('last_run_exit_code', 'Exit status of the last run of this command and mode (0 ok, 1 failed, 2 usage, 3 locked, 4 not configured, 129/130/143 signal).', ['command', 'mode']);
  const duration = gauge('last_run_duration_seconds', 'How long the last run of this command and mode took.', ['command', 'mode']);
  const lastSuccess = gauge('last_success_timestamp_seconds', 'When the last run of this command and mode that exited 0 finished (Unix time), from the history.', ['command', 'mode']);
  const collections = gauge('collections', 'Collections of the last run, by status.', ['status']);
  const tarballs = gauge('tarballs', 'Tarballs of the last run: written, shipped (accepted by the ingress), failed.', ['status']);
  const bytes = gauge('bytes', 'Compressed bytes of the last run: written, shipped.', ['kind']);
  const collectorSeconds = gauge('collector_duration_seconds', 'Seconds each collector spent collecting in the last run.', ['collector']);
  const keyLag = gauge('key_lag_seconds', "How far each key's state position lags behind now, in seconds.", ['key']);
  const info = gauge('info', 'The analytics-collect version that wrote this file.', ['version']);

  const seenRun = new Set<string>();
  const seenSuccess = new Set<string>();
  for (const entry of input.history) {
    if (!METRIC_COMMANDS.has(entry.command)) continue;
    const labels = { command: entry.command, mode: entry.mode ?? '' };
    const pair = `${labels.command}\0${labels.mode}`;
    if (!seenRun.has(pair)) {
      seenRun.add(pair);
      lastRun.set(labels, seconds(entry.finishedAt));
      exitCode.set(labels, entry.exitCode);
      duration.set(labels, (Date.parse(entry.finishedAt) - Date.parse(entry.startedAt)) / 1000);
    }
    if (entry.exitCode === 0 && !seenSuccess.has(pair)) {
      seenSuccess.add(pair);
      lastSuccess.set(labels, seconds(entry.finishedAt));
    }
  }

  const { current } = input;
  for (const [status, value] of Object.entries(current.collections)) collections.set({ status }, value);
  for (const [status, value] of Object.entries(current.tarballs)) tarballs.set({ status }, value);
  bytes.set({ kind: 'written' }, input.bytes.written);
  bytes.set({ kind: 'shipped' }, input.bytes.shipped);
  for (const [collector, value] of input.collectorSeconds) collectorSeconds.set({ collector }, value);
  for (const [key, position] of input.positions) keyLag.set({ key }, Math.max(0, (input.now.getTime() - position.getTime()) / 1000));
  info.set({ version: input.version }, 1);
  return registry.metrics();
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;
