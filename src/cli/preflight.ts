/**
 * The checks `gather` and `ship` make before anything runs, in the contract's order: the ship settings (exit 2),
 * then the license and "is shipping configured" (exit 4).
 */
import type { ResolvedConfig } from '../config/types.js';
import { AppError, usageError } from '../errors.js';
import type { Packager } from '../packager.js';

/**
 * The ship settings' checks, loaded only by runs that ship: they bring Node's http, https, tls and net modules
 * (and the proxy agents), which a dry run never uses (start-up time; `npm run bench -- --io`).
 */
const shipSettings = (): Promise<typeof import('../ship/settings.js')> => import('../ship/settings.js');

/** `--output` and `tmpDir` must be writable directories (or creatable): exit 2, right after the configuration (§7). */
export { checkLocations } from '../config/locations.js';

/** Usage problems of `ship.*` (credentials over plain http, unreadable PEM files…): exit 2. */
export async function checkShipSettings(config: ResolvedConfig): Promise<void> {
  const { validateShipConfig } = await shipSettings();
  const problems = validateShipConfig(config.ship, config.configFile ?? 'the configuration');
  if (problems.length > 0) throw usageError(problems.join('; '));
}

/**
 * Exit 4 when the packager says the license is not valid, or — for runs that upload — when shipping is not
 * configured (the packager's `isShippingConfigured()` replaces the built-in check). `nothing` ends the license
 * message: "nothing was gathered", "nothing was shipped".
 */
export async function checkAllowed(
  config: ResolvedConfig,
  packager: Packager | null,
  options: { shipping: boolean; nothing: string },
): Promise<void> {
  if (packager?.isLicenseValid && !(await packager.isLicenseValid())) {
    throw new AppError('NOT_CONFIGURED', `the license is not valid (packager ${packager.file}); ${options.nothing}`);
  }
  if (!options.shipping) return;
  const { shippingProblem, unsafeShippingProblem } = await shipSettings();
  // A packager's isShippingConfigured() replaces the check for missing pieces; over HTTP, a placeholder URL or
  // credentials in clear text still stop the run (a custom ship() transport uses neither).
  const problem = packager?.isShippingConfigured
    ? ((await packager.isShippingConfigured()) ? (packager.ship ? null : unsafeShippingProblem(config.ship)) : `packager ${packager.file} says shipping is not configured`)
    : shippingProblem(config.ship);
  if (problem !== null) throw new AppError('NOT_CONFIGURED', problem);
}
