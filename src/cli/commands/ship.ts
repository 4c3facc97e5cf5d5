/**
 * `analytics-collect ship TARBALL...`: uploads existing tarballs by the rules of `gather --ship`. It never deletes
 * or moves them and never touches the state or the lock.
 */
import { basename, resolve } from 'node:path';
import { AppError } from '../../errors.js';
import { checkAllowed, checkShipSettings } from '../preflight.js';
import { shipInfoFromFile } from '../../ship/info.js';
import type { ShipInfo } from '../../types.js';
import type { Outcome } from '../outcome.js';
import { formatBytes, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';
import { shipSummary, type ShipCommandResult } from '../summary.js';

export async function shipCommand(files: string[], flags: CommonFlags, out: Output, signal: AbortSignal): Promise<Outcome> {
  const startedAt = Date.now();
  const { config, packager, logger, version, progress } = await setup(flags, out, { progress: true });
  checkShipSettings(config);
  // Every file is checked before the first upload: a typo should not leave half the list shipped.
  const infos: { path: string; info: ShipInfo }[] = [];
  for (const file of files) {
    const path = resolve(file);
    infos.push({ path, info: await shipInfoFromFile(path) });
  }
  await checkAllowed(config, packager, { shipping: true, nothing: 'nothing was shipped' });

  const shipper = await (await import('../../ship/index.js')).createShipper({ config: config.ship, packager, version, logger });
  const results: ShipCommandResult[] = [];
  try {
    for (const [index, { path, info }] of infos.entries()) {
      if (signal.aborted) break;
      if (progress) out.status(`uploading ${index + 1}/${infos.length}: ${basename(path)} (${formatBytes(info.bytes)})`.slice(0, out.columns - 1));
      const result = await shipper.send(path, info, signal);
      const shipped = result.status === 'sent';
      if (shipped) logger.info({ tarball: path, requestId: result.requestId }, `shipped ${info.fileName}`);
      else logger.error({ tarball: path }, `upload of ${info.fileName} failed: ${result.error}`);
      results.push({
        path,
        bytes: info.bytes,
        members: info.members.map((m) => m.name),
        shipped,
        requestId: shipped ? (result.requestId ?? null) : null,
        error: shipped ? null : result.error,
      });
    }
  } finally {
    out.status('');
  }
  if (flags.json) out.result(JSON.stringify(jsonShipReport(results)));
  else for (const r of results) if (r.shipped) out.result(r.path);
  const failed = results.length < infos.length || results.some((r) => !r.shipped);
  if (!flags.quiet || failed) {
    out.note(shipSummary(results, { cwd: process.cwd(), elapsedMs: Date.now() - startedAt, interrupted: signal.aborted, total: infos.length }));
  }
  if (signal.aborted) throw new AppError('INTERRUPTED', 'stopped by a signal');
  return failed ? 'failed' : 'ok';
}

/**
 * `ship --json`: the same document as `gather --json` (contract §7), so one parser reads both; there is no window
 * and no collection, so `since`/`until` are null and `collections` is empty.
 */
export function jsonShipReport(results: readonly ShipCommandResult[]): object {
  return { mode: 'ship', since: null, until: null, tarballs: results, collections: [] };
}
