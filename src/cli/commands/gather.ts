/**
 * `analytics-collect gather`: checks in the contract's order (usage 2, then 4, then the lock 3), then the pipeline.
 */
import { loadCollectors } from '../../collect/load.js';
import { AppError, usageError } from '../../errors.js';
import { gather, type GatherReport } from '../../gather.js';
import { pgCoordination } from '../../postgres/coordination.js';
import { createShipper, shippingProblem, validateShipConfig } from '../../ship/index.js';
import { fileLocker, fileStateStore, parseDateFlag } from '../../state/index.js';
import type { Locker, StateStore } from '../../types.js';
import type { Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';
import { printGatherSummary } from '../summary.js';

export interface GatherFlags extends CommonFlags {
  ship?: boolean;
  keep?: boolean;
  since?: string;
  until?: string;
  only?: string;
}

export async function gatherCommand(flags: GatherFlags, out: Output, signal: AbortSignal): Promise<number> {
  const since = flags.since !== undefined ? parseDateFlag('--since', flags.since) : undefined;
  const until = flags.until !== undefined ? parseDateFlag('--until', flags.until) : undefined;
  const only = flags.only !== undefined ? parseOnly(flags.only) : undefined;
  const { config, packager, logger, version } = await setup(flags, out);
  const mode = flags.ship ? 'ship' : 'dry-run';

  const collectors = await loadCollectors(config.collectors);
  if (only) {
    const known = new Set(collectors.map((c) => c.collector.key));
    const unknown = only.filter((k) => !known.has(k));
    if (unknown.length > 0) {
      throw usageError(`--only: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known keys: ${[...known].join(', ')}`);
    }
  }
  const coordination = pgCoordination(config.coordination, {
    // The database connection holding the cluster lock died: another node may start a gather now.
    onLockLost: (err) => logger.error(`lost the cluster lock (${err.message}); another node may gather the same window`),
  });
  const store: StateStore = coordination?.store ?? fileStateStore(config.stateFile);
  const locker: Locker = coordination?.locker ?? fileLocker(`${config.stateFile}.lock`);
  await store.read(); // a damaged state is a usage error, reported before the lock is tried
  if (mode === 'ship') {
    const problems = validateShipConfig(config.ship, config.configFile ?? 'the configuration');
    if (problems.length > 0) throw usageError(problems.join('; '));
  }

  if (packager?.isLicenseValid && !(await packager.isLicenseValid())) {
    throw new AppError('NOT_CONFIGURED', `the license is not valid (packager ${packager.file}); nothing was gathered`);
  }
  if (mode === 'ship') {
    const problem = packager?.isShippingConfigured
      ? ((await packager.isShippingConfigured()) ? null : `packager ${packager.file} says shipping is not configured`)
      : shippingProblem(config.ship);
    if (problem !== null) throw new AppError('NOT_CONFIGURED', `shipping is not configured: ${problem}`);
  }

  const lock = await locker.acquire();
  let report: GatherReport;
  try {
    const shipper = mode === 'ship' ? await createShipper({ config: config.ship, packager, version, logger }) : undefined;
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
    });
  } finally {
    await lock.release();
  }

  if (flags.json) out.result(JSON.stringify(jsonReport(report)));
  else for (const t of report.tarballs) if (t.bytes > 0) out.result(t.path);
  printGatherSummary(report, out);
  if (report.interrupted) throw new AppError('INTERRUPTED', 'stopped by a signal');
  return report.failed ? 1 : 0;
}

function parseOnly(value: string): string[] {
  const keys = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
  if (keys.length === 0) throw usageError('--only needs at least one key, e.g. --only jobs,hosts');
  return keys;
}

/** The `--json` document of contract §7. */
export function jsonReport(report: GatherReport): object {
  return {
    mode: report.mode,
    since: report.since,
    until: report.until,
    tarballs: report.tarballs,
    collections: report.collections,
    ...(report.configError !== null ? { error: `config collector: ${report.configError}` } : {}),
  };
}
