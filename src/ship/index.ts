/**
 * The ship stage's entry (contract §5): builds the one Shipper a run uses — HTTP or a packager's transport —
 * with the retry rule, the upload guard and the stop-after-rejected-credentials rule wrapped around it.
 * The pipeline only calls `send()` and reads `sent` / `failed`.
 */
import type { Logger } from 'pino';
import type { ShipConfig } from '../config/types.js';
import { type Packager, packagerShipper } from '../packager.js';
import type { Shipper } from '../types.js';
import { registerSecretsFromConfig } from '../secrets/index.js';
import { withUploadGuard } from './guard.js';
import { requireShipSettings } from './settings.js';
import { createHttpShipper } from './http.js';
import { withRetries } from './retry.js';

export { settleTarball, type SettleOptions, type Settled } from './settle.js';
export { uploadGuardProblem } from './guard.js';
export { withRetries } from './retry.js';
export { createHttpShipper } from './http.js';
export { shipInfoFromFile } from './info.js';

/**
 * After the ingress rejects the credentials (a final 401/403), nothing more is uploaded this run: every later
 * `send()` fails at once, marked `authRejected`, so the rest is kept as failed.
 */
export function stopAfterAuthRejection(shipper: Shipper): Shipper {
  let rejected: string | null = null;
  return {
    async send(tarballPath, info, signal) {
      if (rejected !== null) {
        return { status: 'failed', authRejected: true, error: `${info.fileName} not uploaded: ${rejected}` };
      }
      const result = await shipper.send(tarballPath, info, signal);
      if (result.status === 'failed' && result.authRejected) {
        rejected = 'the ingress rejected the credentials earlier in this run';
      }
      return result;
    },
  };
}

export interface CreateShipperOptions {
  config: ShipConfig;
  /**
   * A loaded packager; its `ship()`, when present, replaces HTTP. Its `headers()` are not read here: they are
   * a configuration layer, merged into `config.headers` by the config loader (`applyPackagerDefaults`).
   */
  packager?: Packager | null;
  version: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Test seams for the retry waits. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/**
 * The run's shipper. For HTTP, the settings are parsed once (settings.ts; the preflight's checks of the same
 * configuration object reuse that parse): AppError('USAGE') for wrong values, AppError('NOT_CONFIGURED') for
 * missing or unsafe ones — check `validateShipConfig()` and `shippingProblem()` (or the packager's
 * `isShippingConfigured()`) before any collector runs, to exit 2 or 4 in the contract's order.
 */
export async function createShipper(options: CreateShipperOptions): Promise<Shipper> {
  const { config, packager, logger } = options;
  const env = options.env ?? process.env;
  // The ship stage's own credentials join the process's secrets, whoever built the configuration.
  registerSecretsFromConfig({ ship: config, coordination: {} }, env);
  const retry = {
    retries: config.retries,
    logger,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
  };
  if (packager?.ship) {
    // The upload guard is about the HTTP ingress's limit; a custom transport has its own.
    return stopAfterAuthRejection(withRetries(packagerShipper(packager), retry));
  }
  const settings = requireShipSettings(config, { env, version: options.version });
  const http = createHttpShipper(settings, { logger, ...(options.now ? { now: options.now } : {}) });
  return stopAfterAuthRejection(withUploadGuard(withRetries(http, retry), settings.uploadLimit));
}
