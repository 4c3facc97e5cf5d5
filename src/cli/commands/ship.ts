/**
 * `analytics-collect ship TARBALL... [--delete]`: uploads existing tarballs by the rules of `gather --ship`. It
 * never moves them and never touches the state or the lock; with `--delete` it deletes each accepted one (so
 * that `ship failed/*.tar.gz` run twice does not send duplicates).
 */
import { rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { AppError, messageOf } from '../../errors.js';
import type { RunRecorder } from '../../history/recorder.js';
import { checkAllowed, checkShipSettings } from '../preflight.js';
import { shipInfoFromFile } from '../../ship/info.js';
import type { ShipInfo } from '../../types.js';
import type { Outcome } from '../outcome.js';
import { formatBytes, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';
import { shipSummary, type ShipCommandResult } from '../summary.js';

export interface ShipFlags extends CommonFlags {
  delete?: boolean;
}

/** A result of the ship command, with what is on disk now (contract §7's `disposition`). */
type ShipRow = ShipCommandResult & { disposition: 'kept' | 'deleted' };

export async function shipCommand(files: string[], flags: ShipFlags, out: Output, signal: AbortSignal, recorder?: RunRecorder): Promise<Outcome> {
  const startedAt = Date.now();
  const { config, packager, logger, version, progress } = await setup(flags, out, { progress: true });
  recorder?.useConfig(config);
  await checkShipSettings(config);
  // Every file is checked before the first upload: a typo should not leave half the list shipped.
  const infos: { path: string; info: ShipInfo }[] = [];
  for (const file of files) {
    const path = resolve(file);
    infos.push({ path, info: await shipInfoFromFile(path) });
  }
  await checkAllowed(config, packager, { shipping: true, nothing: 'nothing was shipped' });

  const shipper = await (await import('../../ship/index.js')).createShipper({ config: config.ship, packager, version, logger });
  const results: ShipRow[] = [];
  // The results so far, whatever ends the loop (a signal, an error thrown mid-list): the history counts them.
  recorder?.useReport({ since: null, until: null, tarballs: results, collections: [] });
  let undeleted = 0;
  try {
    for (const [index, { path, info }] of infos.entries()) {
      if (signal.aborted) break;
      if (progress) out.status(`uploading ${index + 1}/${infos.length}: ${basename(path)} (${formatBytes(info.bytes)})`.slice(0, out.columns - 1));
      const result = await shipper.send(path, info, signal);
      const shipped = result.status === 'sent';
      if (shipped) logger.info({ tarball: path, requestId: result.requestId }, `shipped ${info.fileName}`);
      else logger.error({ tarball: path }, `upload of ${info.fileName} failed: ${result.error}`);
      let disposition: ShipRow['disposition'] = 'kept';
      if (shipped && flags.delete) {
        try {
          await rm(path);
          disposition = 'deleted';
        } catch (err) {
          undeleted++;
          logger.error({ tarball: path }, `${info.fileName} was shipped but cannot be deleted (${messageOf(err)}); delete it by hand or it is sent again`);
        }
      }
      results.push({
        path,
        bytes: info.bytes,
        members: info.members.map((m) => m.name),
        shipped,
        requestId: shipped ? (result.requestId ?? null) : null,
        error: shipped ? null : result.error,
        disposition,
      });
    }
  } finally {
    out.status('');
  }
  if (flags.json) out.result(JSON.stringify(jsonShipReport(results)));
  else for (const r of results) if (r.shipped) out.result(r.path);
  const failed = results.length < infos.length || results.some((r) => !r.shipped) || undeleted > 0;
  if (!flags.quiet || failed) {
    const deleted = results.filter((r) => r.disposition === 'deleted').length;
    out.note(
      shipSummary(results, { cwd: process.cwd(), elapsedMs: Date.now() - startedAt, interrupted: signal.aborted, total: infos.length }) +
        (flags.delete ? `\nDeleted ${deleted} accepted tarball${deleted === 1 ? '' : 's'} (--delete)${undeleted > 0 ? `; ${undeleted} could not be deleted` : ''}.` : ''),
    );
  }
  if (signal.aborted) throw new AppError('INTERRUPTED', 'stopped by a signal');
  return failed ? 'failed' : 'ok';
}

/**
 * `ship --json`: the same document as `gather --json` (contract §7), so one parser reads both; there is no window
 * and no collection, so `since`/`until` are null and `collections` is empty.
 */
export function jsonShipReport(results: readonly ShipRow[]): object {
  return { mode: 'ship', since: null, until: null, tarballs: results, collections: [] };
}
