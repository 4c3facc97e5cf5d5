/**
 * `analytics-collect gather`: checks in the contract's order (usage 2, then 4, then the lock 3), then the pipeline,
 * with a progress line on a terminal and a summary at the end.
 */
import type { LoadedCollector } from '../../collect/load.js';
import { loadCollectors } from '../../collect/load.js';
import { AppError, usageError } from '../../errors.js';
import { reclaimPromptly, setRunFlags } from '../../memory.js';
import { favourMainThread } from '../../threads.js';
import { gather, type GatherReport } from '../../gather.js';
import type { RunRecorder } from '../../history/recorder.js';
import { pgCoordination } from '../../postgres/coordination.js';
import { checkAllowed, checkLocations, checkShipSettings } from '../preflight.js';
import { orderCollectors } from '../../run/order.js';
import { checkPositions, cleanLeftovers, fileLocker, fileStateStore, parseDateFlag, resolveRunWindow } from '../../state/index.js';
import type { Locker, StateStore } from '../../types.js';
import type { Outcome } from '../outcome.js';
import type { Output } from '../output.js';
import { ProgressDisplay, type PlannedCollector } from '../progress.js';
import { setup, type CommonFlags } from '../setup.js';
import { closest } from '../../collect/suggest.js';
import { gatherSummary } from '../summary.js';

export interface GatherFlags extends CommonFlags {
  ship?: boolean;
  keep?: boolean;
  since?: string;
  until?: string;
  only?: string;
}

export async function gatherCommand(flags: GatherFlags, out: Output, signal: AbortSignal, recorder?: RunRecorder): Promise<Outcome> {
  const startedAt = Date.now();
  const since = flags.since !== undefined ? parseDateFlag('--since', flags.since) : undefined;
  const until = flags.until !== undefined ? parseDateFlag('--until', flags.until) : undefined;
  const only = flags.only !== undefined ? parseOnly(flags.only) : undefined;
  const { config, packager, logger, version, progress: showProgress, color } = await setup(flags, out, { progress: true });
  recorder?.useConfig(config);
  const mode = flags.ship ? 'ship' : 'dry-run';
  if (flags.keep && mode === 'dry-run') logger.warn('--keep has no effect without --ship: a dry run keeps every tarball anyway');

  await checkLocations(config); // §7: after the configuration, before the collector modules
  // Without the module hooks when an earlier run relocated the modules (start-up time; collect/direct.ts).
  const collectors = await loadCollectors(config.collectors, { timeoutMs: config.collectorTimeoutMs, direct: true });
  if (only) {
    const known = new Set(collectors.map((c) => c.collector.key));
    const unknown = only.filter((k) => !known.has(k));
    if (unknown.length > 0) {
      const named = unknown.map((k) => {
        const suggestion = closest(k, known);
        return suggestion ? `${k} (did you mean ${suggestion}?)` : k;
      });
      throw usageError(`--only: unknown key${unknown.length > 1 ? 's' : ''} ${named.join(', ')}; known keys: ${[...known].join(', ')}`);
    }
  }
  const fileStore = fileStateStore(config.stateFile);
  // §8: database waits end with the run's signal; the JSON state's positions seed an empty state table.
  const coordination = pgCoordination(config.coordination, { signal, logger, migrateFrom: fileStore });
  const plainStore: StateStore = coordination?.store ?? fileStore;
  const store = recorder?.observe(plainStore) ?? plainStore; // the state read or written gives the keys' lag (§9)
  const locker: Locker =
    coordination?.locker ?? fileLocker(`${config.stateFile}.lock`, { staleMs: config.lockStaleMs, warn: (message) => logger.warn(message) });
  // Exit order (§7): every usage problem (2) — a damaged state, positions in the future (§4, by the cluster's
  // clock when there is one, §8), a future --since, an empty window, ship settings, a state that cannot be
  // written — before "not allowed" (4), before the lock (3).
  const state = await store.read();
  const now = (await store.now?.()) ?? new Date();
  checkPositions(state, now, coordination ? store.describe() : `state file ${store.describe()}`);
  resolveRunWindow({ ...(since ? { since } : {}), ...(until ? { until } : {}), now, state });
  if (mode === 'ship') {
    await checkShipSettings(config);
    await store.checkWritable?.();
  }
  await checkAllowed(config, packager, { shipping: mode === 'ship', nothing: 'nothing was gathered' });

  const lock = await locker.acquire();
  // §3: what a killed run left (its run directory, `.partial` tarballs) goes now that this run holds the lock.
  const leftovers = await cleanLeftovers(config);
  for (const path of [...leftovers.runDirs, ...leftovers.partials]) logger.info({ path }, 'removed a leftover of a run that was killed');
  const progress = showProgress ? new ProgressDisplay(out, { plan: planOf(collectors, only), mode, color }) : null;
  let report: GatherReport;
  try {
    progress?.start();
    // Once everything is loaded and before any data moves: starting a worker thread (the module hooks run in one
    // when the collectors were not relocated, collect/direct.ts) puts V8's flags back to their defaults, so the
    // bin's are set again here (src/memory.ts).
    setRunFlags();
    reclaimPromptly();
    // The threads that serve this one (the pool that deflates, V8's helpers, the module hooks' worker) yield the
    // cores to it first (src/threads.ts); a redaction thread started later does so once online.
    favourMainThread();
    const shipper = mode === 'ship' ? await (await loadShipping()).createShipper({ config: config.ship, packager, version, logger }) : undefined;
    report = await gather({
      config,
      collectors,
      mode,
      keep: flags.keep ?? false,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(only ? { only } : {}),
      store,
      ...(shipper ? { shipper } : {}),
      packager,
      logger,
      signal,
      lock,
      onEvent: (event) => {
        progress?.onEvent(event);
        recorder?.onEvent(event);
      },
    });
  } finally {
    progress?.stop();
    await lock.release();
  }

  recorder?.useReport(report);
  const elapsedMs = Date.now() - startedAt;
  if (flags.json) out.result(JSON.stringify(jsonReport(report)));
  else for (const t of report.tarballs) if (t.bytes > 0) out.result(t.path);
  // For log shippers: the outcome as one structured event (on a terminal the summary below says it).
  if (!out.interactive) logger.info(finishedEvent(report, elapsedMs), 'gather finished');
  // --quiet (cron): a successful run says nothing on stderr; a failed one still explains itself.
  if (!flags.quiet || report.failed || report.interrupted) {
    out.note(gatherSummary(report, { cwd: process.cwd(), elapsedMs, keep: flags.keep ?? false }));
  }
  if (report.interrupted) throw new AppError('INTERRUPTED', 'stopped by a signal');
  return report.failed ? 'failed' : 'ok';
}

function parseOnly(value: string): string[] {
  const keys = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (keys.length === 0) throw usageError('--only needs at least one key, e.g. --only jobs,hosts');
  return keys;
}

/** The collectors the pipeline will call, in its order (`orderCollectors`), for the progress line. */
export function planOf(collectors: readonly LoadedCollector[], only?: readonly string[]): PlannedCollector[] {
  return orderCollectors(collectors, only).map(({ collector: c }) => ({ key: c.key, sliced: c.slicing !== undefined }));
}

function finishedEvent(report: GatherReport, elapsedMs: number): Record<string, unknown> {
  const count = (status: string): number => report.collections.filter((c) => c.status === status).length;
  return {
    mode: report.mode,
    until: report.until,
    tarballs: report.tarballs.filter((t) => t.bytes > 0).length,
    ...(report.mode === 'ship' ? { shipped: report.tarballs.filter((t) => t.shipped).length } : {}),
    collections: { ok: count('ok'), empty: count('empty'), failed: count('failed') },
    failedKeys: [...new Set(report.collections.filter((c) => c.status === 'failed').map((c) => c.key))],
    elapsedMs,
  };
}

/** The `--json` document of contract §7. */
export function jsonReport(report: GatherReport): object {
  return {
    mode: report.mode,
    since: report.since,
    until: report.until,
    tarballs: report.tarballs,
    collections: report.collections,
    ...(report.configError !== null ? { error: `config collector: ${report.configError}` } : report.fatal !== null ? { error: report.fatal } : {}),
  };
}

/** got and the HTTP stack load only for runs that ship (they cost start-up time and memory on every dry run). */
const loadShipping = (): Promise<typeof import('../../ship/index.js')> => import('../../ship/index.js');
