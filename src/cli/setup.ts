/**
 * What every command that reads the configuration does first: load it, make the logger, load the packager.
 */
import type { Logger } from 'pino';
import { applyPackagerDefaults, loadConfigWithSources, toolVersion } from '../config/load.js';
import { configSecrets } from '../config/schema.js';
import type { ConfigFlags, ResolvedConfig } from '../config/types.js';
import { createLogger, isLogLevel } from '../log.js';
import { loadPackager, type Packager } from '../packager.js';
import { usageError } from '../errors.js';
import type { Output } from './output.js';

export interface CommonFlags {
  config?: string;
  collectors?: string;
  output?: string;
  logLevel?: string;
  verbose?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export interface Setup {
  config: ResolvedConfig;
  packager: Packager | null;
  logger: Logger;
  version: string;
  secrets: string[];
}

/** The log level from `--log-level`, `--verbose`, `--quiet` (in that order of strength). */
export function logLevelOf(flags: CommonFlags): string {
  if (flags.logLevel !== undefined) {
    if (!isLogLevel(flags.logLevel)) {
      throw usageError(`--log-level: "${flags.logLevel}" is not a level; use one of fatal, error, warn, info, debug, trace, silent`);
    }
    return flags.logLevel;
  }
  if (flags.verbose) return 'debug';
  if (flags.quiet) return 'warn';
  return 'info';
}

export async function setup(flags: CommonFlags, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<Setup> {
  const level = logLevelOf(flags);
  const configFlags: ConfigFlags = {
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(flags.collectors !== undefined ? { collectors: flags.collectors } : {}),
    ...(flags.output !== undefined ? { output: flags.output } : {}),
  };
  const loaded = await loadConfigWithSources({ cwd: process.cwd(), flags: configFlags, env });
  let config = loaded.config;
  const secrets = configSecrets(config, env);
  const logger = createLogger({ level: level as never, pretty: out.interactive, destination: out.stderr === process.stderr ? 2 : out.stderr, redact: secrets });
  let packager: Packager | null = null;
  if (config.packager) {
    packager = await loadPackager(config.packager);
    const headers = packager.headers ? await packager.headers() : undefined;
    config = applyPackagerDefaults(config, loaded.fromFile, {
      ...(packager.maxDataSize !== undefined ? { maxDataSize: packager.maxDataSize } : {}),
      ...(packager.contentType !== undefined ? { contentType: packager.contentType } : {}),
      ...(headers !== undefined ? { headers } : {}),
    });
  }
  return { config, packager, logger, version: toolVersion(), secrets };
}
