/**
 * `analytics-collect ship TARBALL...`: uploads existing tarballs by the rules of `gather --ship`. It never deletes
 * or moves them and never touches the state or the lock.
 */
import { resolve } from 'node:path';
import { AppError, usageError } from '../../errors.js';
import { createShipper, shipInfoFromFile, shippingProblem, validateShipConfig } from '../../ship/index.js';
import type { ShipInfo } from '../../types.js';
import { formatBytes, table, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';

export async function shipCommand(files: string[], flags: CommonFlags, out: Output, signal: AbortSignal): Promise<number> {
  const { config, packager, logger, version } = await setup(flags, out);
  const problems = validateShipConfig(config.ship, config.configFile ?? 'the configuration');
  if (problems.length > 0) throw usageError(problems.join('; '));
  // Every file is checked before the first upload: a typo should not leave half the list shipped.
  const infos: { path: string; info: ShipInfo }[] = [];
  for (const file of files) {
    const path = resolve(file);
    infos.push({ path, info: await shipInfoFromFile(path) });
  }
  if (packager?.isLicenseValid && !(await packager.isLicenseValid())) {
    throw new AppError('NOT_CONFIGURED', `the license is not valid (packager ${packager.file}); nothing was shipped`);
  }
  const problem = packager?.isShippingConfigured
    ? ((await packager.isShippingConfigured()) ? null : `packager ${packager.file} says shipping is not configured`)
    : shippingProblem(config.ship);
  if (problem !== null) throw new AppError('NOT_CONFIGURED', `shipping is not configured: ${problem}`);

  const shipper = await createShipper({ config: config.ship, packager, version, logger });
  const results: { path: string; bytes: number; members: string[]; shipped: boolean; requestId: string | null; error: string | null }[] = [];
  for (const { path, info } of infos) {
    if (signal.aborted) break;
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
  if (flags.json) out.result(JSON.stringify({ mode: 'ship', tarballs: results }));
  else for (const r of results) if (r.shipped) out.result(r.path);
  out.note(
    table(
      ['tarball', 'size', 'shipped'],
      results.map((r) => [r.path, formatBytes(r.bytes), r.shipped ? (r.requestId ? `yes (request ${r.requestId})` : 'yes') : `no: ${r.error}`]),
    ),
  );
  if (signal.aborted) throw new AppError('INTERRUPTED', 'stopped by a signal');
  return results.every((r) => r.shipped) ? 0 : 1;
}
