/**
 * What every command that reads the configuration does first: load it, make the logger, load the packager —
 * and decide what the terminal gets (progress line, colours).
 */
import type { Logger } from 'pino';
import { applyPackager, loadConfigWithSources, toolVersion } from '../config/load.js';
import type { ConfigFlags, ConfigSource, ResolvedConfig } from '../config/types.js';
import { createLogger, isLogLevel, LOG_LEVELS, type DemoteInfo } from '../log.js';
import { loadPackager, type Packager } from '../packager.js';
import { usageError } from '../errors.js';
import { registerSecretsFromConfig } from '../secrets/index.js';
import type { Output } from './output.js';

export interface CommonFlags {
  config?: string;
  collectors?: string;
  output?: string;
  /** `--metrics-file` (gather, ship): wins over `metricsFile` (§9). */
  metricsFile?: string;
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
  /** Whether this command should show a progress line. */
  progress: boolean;
  /** Whether the terminal gets colours. */
  color: boolean;
  /** Where each effective setting came from, by dotted key (for `check`). */
  sources: ReadonlyMap<string, ConfigSource>;
  /** The configuration file used, or null. */
  file: string | null;
  /** When no file was found: the directories searched, from `from` up to `to`. */
  searched: { from: string; to: string } | null;
}

export interface SetupOptions {
  /** The command can show progress (gather, ship); it is shown only where `terminalFeatures` allows. */
  progress?: boolean;
  /** Default log level when no flag sets one (list/state/inspect print their result and keep logs to warnings). */
  defaultLevel?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The log level from `--log-level`, `--verbose`, `--quiet` (in that order of strength). */
export function logLevelOf(flags: CommonFlags, fallback = 'info'): string {
  if (flags.logLevel !== undefined) {
    if (!isLogLevel(flags.logLevel)) {
      throw usageError(`--log-level: "${flags.logLevel}" is not a level; use one of ${LOG_LEVELS.join(', ')}`);
    }
    return flags.logLevel;
  }
  if (flags.verbose) return 'debug';
  if (flags.quiet) return 'warn';
  return fallback;
}

/** `CI` counts as set unless empty, `0` or `false` (some runners export `CI=false` to mean "not CI"). */
export function isCI(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/**
 * What the terminal gets. Progress: only when stderr is a terminal that can redraw a line (not `TERM=dumb`),
 * outside CI, without `--quiet` or a silent log level. Colours: unless `NO_COLOR` is set (https://no-color.org).
 */
export function terminalFeatures(
  flags: CommonFlags,
  out: Pick<Output, 'interactive'>,
  env: NodeJS.ProcessEnv,
  level: string = logLevelOf(flags),
): { progress: boolean; color: boolean } {
  const color = !env.NO_COLOR;
  const progress = out.interactive && !flags.quiet && level !== 'silent' && !isCI(env) && env.TERM !== 'dumb';
  return { progress, color };
}

/**
 * With a progress line on screen, "wrote X" and "shipped X" (info events about one tarball, from the pipeline
 * rather than a collector) would only repeat it; they move to debug, where `--verbose` shows them.
 */
const routineTarballEvent: DemoteInfo = (fields, bindings) => typeof fields.tarball === 'string' && bindings.collector === undefined;

export async function setup(flags: CommonFlags, out: Output, options: SetupOptions = {}): Promise<Setup> {
  const env = options.env ?? process.env;
  const level = logLevelOf(flags, options.defaultLevel);
  const features = terminalFeatures(flags, out, env, level);
  const progress = options.progress === true && features.progress;
  const configFlags: ConfigFlags = {
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(flags.collectors !== undefined ? { collectors: flags.collectors } : {}),
    ...(flags.output !== undefined ? { output: flags.output } : {}),
    ...(flags.metricsFile !== undefined ? { metricsFile: flags.metricsFile } : {}),
  };
  let loaded = await loadConfigWithSources({ cwd: options.cwd ?? process.cwd(), flags: configFlags, env });
  let config = loaded.config;
  registerSecretsFromConfig(config, env);
  const logger = createLogger({
    level: level as never,
    pretty: out.interactive,
    colorize: features.color,
    destination: { write: (line: string) => out.log(line) },
    ...(progress ? { demoteInfo: routineTarballEvent } : {}),
  });
  // -v says which configuration was used: the first question when a run does not do what was expected.
  logger.debug(
    { configFile: loaded.file },
    loaded.file !== null
      ? `configuration file ${loaded.file}`
      : `no configuration file found${loaded.searched ? ` (searched from ${loaded.searched.from} up to ${loaded.searched.to})` : ''}; using the defaults`,
  );
  let packager: Packager | null = null;
  if (config.packager) {
    packager = await loadPackager(config.packager, { timeoutMs: config.collectorTimeoutMs });
    const headers = packager.headers ? await packager.headers() : undefined;
    loaded = applyPackager(loaded, {
      ...(packager.maxDataSize !== undefined ? { maxDataSize: packager.maxDataSize } : {}),
      ...(packager.contentType !== undefined ? { contentType: packager.contentType } : {}),
      ...(headers !== undefined ? { headers } : {}),
    });
    config = loaded.config;
  }
  return {
    config,
    packager,
    logger,
    version: toolVersion(),
    progress,
    color: features.color,
    sources: loaded.sources,
    file: loaded.file,
    searched: loaded.searched,
  };
}
