/**
 * Finding, reading and resolving the configuration (contract §6). cosmiconfig does only the I/O; validation is
 * `validateConfig` (pure), and `resolveConfig` is the one place that states precedence:
 * flag > environment > config file > packager > default.
 */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cosmiconfig, defaultLoaders, type Loader } from 'cosmiconfig';
import { AppError, messageOf } from '../errors.js';
import { resolveRedact } from './redact.js';
import { coordinationShape, validateConfig, type FileConfig } from './schema.js';
import { configSources } from './sources.js';
import type { ConfigFlags, ConfigSource, RedactConfig, ResolvedConfig } from './types.js';

const MODULE_NAME = 'analytics';

/** Where a configuration may live, in the order they are tried in each directory. */
export const SEARCH_PLACES: readonly string[] = [
  'package.json',
  `.${MODULE_NAME}rc`,
  `.${MODULE_NAME}rc.json`,
  `.${MODULE_NAME}rc.yaml`,
  `.${MODULE_NAME}rc.yml`,
  `.${MODULE_NAME}rc.js`,
  `.${MODULE_NAME}rc.mjs`,
  `.${MODULE_NAME}rc.cjs`,
  `.${MODULE_NAME}rc.ts`,
  `.${MODULE_NAME}rc.mts`,
  `${MODULE_NAME}.config.json`,
  `${MODULE_NAME}.config.js`,
  `${MODULE_NAME}.config.mjs`,
  `${MODULE_NAME}.config.cjs`,
  `${MODULE_NAME}.config.ts`,
  `${MODULE_NAME}.config.mts`,
];

/** Environment variables standing in for `ship.*` credentials; they win over the file. */
export const SECRET_ENV: Readonly<Record<string, 'username' | 'password' | 'clientId' | 'clientSecret' | 'token' | 'identity'>> = {
  ANALYTICS_USERNAME: 'username',
  ANALYTICS_PASSWORD: 'password',
  ANALYTICS_CLIENT_ID: 'clientId',
  ANALYTICS_CLIENT_SECRET: 'clientSecret',
  ANALYTICS_TOKEN: 'token',
  ANALYTICS_IDENTITY: 'identity',
};

/** A configuration error listing every problem found; exit 2. */
export class ConfigError extends AppError {
  constructor(readonly problems: readonly string[]) {
    // One problem per line; the `;` keeps the message readable when a caller folds it onto one line.
    super('USAGE', problems.join(';\n'));
  }
}

let version: string | undefined;

/**
 * This package's version, from its package.json. src/config/load.ts and dist/config/load.js both sit two levels
 * below the package root, so one relative URL serves both.
 */
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}

/** Values the configuration file set itself, which a packager may not override (file > packager > default). */
export interface FileProvided {
  maxDataSize: boolean;
  contentType: boolean;
  /** The file's `ship.headers` as written (without the default User-Agent). */
  headers: Record<string, string>;
}

/** What a packager offers for the values it may provide (contract §6), already resolved. */
export interface PackagerValues {
  maxDataSize?: number;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface LoadedConfig {
  config: ResolvedConfig;
  fromFile: FileProvided;
  /** Where each effective value came from, by dotted key (`ship.url`), for `check`. */
  sources: ReadonlyMap<string, ConfigSource>;
  /** The configuration file used, or null. */
  file: string | null;
  /** The directories searched (from `cwd` up to `to`) when no file was found and none was given; else null. */
  searched: { from: string; to: string } | null;
}

export interface LoadConfigOptions {
  cwd: string;
  flags: ConfigFlags;
  env: NodeJS.ProcessEnv;
}

/** Merges header layers, later ones winning; names compare case-insensitively and keep the winner's spelling. */
export function mergeHeaders(...layers: (Record<string, string> | undefined)[]): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer ?? {})) byLower.set(name.toLowerCase(), [name, value]);
  }
  return Object.fromEntries(byLower.values());
}

/** `applyPackagerDefaults`, with the sources updated: a value the packager provided and the file did not is `packager`. */
export function applyPackager(loaded: LoadedConfig, packager: PackagerValues): LoadedConfig {
  const sources = new Map(loaded.sources);
  const set = (key: string, offered: boolean, fileHas: boolean): void => {
    if (offered && !fileHas && sources.get(key) === 'default') sources.set(key, 'packager');
  };
  set('maxDataSize', packager.maxDataSize !== undefined, loaded.fromFile.maxDataSize);
  set('ship.contentType', packager.contentType !== undefined, loaded.fromFile.contentType);
  set('ship.headers', packager.headers !== undefined && Object.keys(packager.headers).length > 0, false);
  return { ...loaded, config: applyPackagerDefaults(loaded.config, loaded.fromFile, packager), sources };
}

/** `default < packager < file` for the values a packager may provide. Pure; returns a new configuration. */
export function applyPackagerDefaults(config: ResolvedConfig, fromFile: FileProvided, packager: PackagerValues): ResolvedConfig {
  return {
    ...config,
    maxDataSize: fromFile.maxDataSize ? config.maxDataSize : (packager.maxDataSize ?? config.maxDataSize),
    ship: {
      ...config.ship,
      contentType: fromFile.contentType ? config.ship.contentType : (packager.contentType ?? config.ship.contentType),
      // config.ship.headers already holds default + file; putting the file's own headers back on top of the
      // packager's keeps the file winning.
      headers: mergeHeaders(config.ship.headers, packager.headers, fromFile.headers),
    },
  };
}

/** An environment value, or undefined when unset or empty (an empty variable is how shells "unset" in scripts). */
const fromEnv = (env: NodeJS.ProcessEnv, name: string): string | undefined => (env[name] ? env[name] : undefined);

export interface ResolveInputs {
  /** The validated file content (or the defaults, validated from `{}`). */
  file: FileConfig;
  /** Absolute path of the configuration file, or null when none was found. */
  configFile: string | null;
  /** Whether the raw file set these keys itself. */
  fileKeys: { maxDataSize: boolean; contentType: boolean };
  cwd: string;
  flags: ConfigFlags;
  env: NodeJS.ProcessEnv;
  version: string;
  systemTmpDir: string;
  /** The resolved `redact` (from `resolveRedact`); when absent it is resolved here without its checks. */
  redact?: RedactConfig | null;
  /** The raw file content, for `sources`; default: none. */
  raw?: unknown;
  searched?: { from: string; to: string } | null;
}

/**
 * The track endpoint derived from the upload URL (§6): a last path segment `upload` becomes `track`; the query
 * and fragment, meant for uploads, are dropped. Anything else: null.
 */
export function deriveTrackUrl(shipUrl: string | undefined): string | null {
  if (shipUrl === undefined || !URL.canParse(shipUrl)) return null;
  const url = new URL(shipUrl);
  const match = /^(.*\/)upload(\/?)$/.exec(url.pathname);
  if (!match) return null;
  url.pathname = `${match[1]}track${match[2]}`;
  url.search = '';
  url.hash = '';
  return url.href;
}

/**
 * States precedence: flag > environment > file > default (the packager comes later, `applyPackagerDefaults`).
 * Paths in the file, and the defaults, resolve from the file's directory when there is a file — the file marks
 * the project, so running from a subdirectory must not scatter `./analytics-out` folders; with no file they
 * resolve from `cwd` (contract §6). Paths given as flags always resolve from `cwd`.
 */
export function resolveConfig(inputs: ResolveInputs): LoadedConfig {
  const { file, configFile, cwd, flags, env } = inputs;
  const base = configFile ? dirname(configFile) : cwd;
  const fromBase = (value: string | undefined): string | undefined => (value === undefined ? undefined : resolve(base, value));
  const secrets = Object.fromEntries(
    Object.entries(SECRET_ENV).map(([name, key]) => [key, fromEnv(env, name) ?? file.ship[key]]),
  ) as Record<(typeof SECRET_ENV)[string], string | undefined>;
  const ship = {
    ...file.ship,
    ...secrets,
    certFile: fromBase(file.ship.certFile),
    keyFile: fromBase(file.ship.keyFile),
    caFile: fromBase(file.ship.caFile),
    headers: mergeHeaders({ 'User-Agent': `analytics-collect/${inputs.version}` }, file.ship.headers),
    trackUrl: file.ship.trackUrl ?? deriveTrackUrl(file.ship.url),
  };
  const stateFile = resolve(base, file.stateFile);
  const config: ResolvedConfig = {
    configFile,
    collectors: flags.collectors ? resolve(cwd, flags.collectors) : resolve(base, file.collectors),
    output: flags.output ? resolve(cwd, flags.output) : resolve(base, file.output),
    stateFile,
    tmpDir: fromBase(file.tmpDir) ?? inputs.systemTmpDir,
    maxDataSize: file.maxDataSize,
    gzipLevel: file.gzipLevel,
    collectorTimeoutMs: file.collectorTimeoutMs,
    concurrency: file.concurrency,
    lockStaleMs: file.lockStaleMs,
    historyFile: fromBase(file.historyFile) ?? join(dirname(stateFile), 'history.jsonl'),
    historyKeep: file.historyKeep,
    metricsFile: flags.metricsFile ? resolve(cwd, flags.metricsFile) : (fromBase(file.metricsFile) ?? null),
    redact: inputs.redact !== undefined ? inputs.redact : resolveRedact(file.redact, env, configFile ?? 'the configuration').value,
    packager: fromBase(file.packager) ?? null,
    ship: dropUndefined(ship),
    coordination: dropUndefined({ ...file.coordination, postgres: fromEnv(env, 'ANALYTICS_PG_URL') ?? file.coordination.postgres }),
  };
  return {
    config,
    fromFile: { ...inputs.fileKeys, headers: { ...file.ship.headers } },
    sources: configSources(inputs.raw ?? {}, flags, env),
    file: configFile,
    searched: inputs.searched ?? null,
  };
}

/** Optional keys absent rather than present-and-undefined, so the config prints and compares cleanly. */
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Error texts of parsers quote the offending source (V8's JSON.parse, js-yaml and esbuild all do), and that
 * source may hold a secret. These keep the position and the reason only.
 */
function locate(content: string, index: number): string {
  const before = content.slice(0, index).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

const loadJsonSafely: Loader = (_file, content) => {
  try {
    // Editors on Windows may save a byte-order mark, which JSON.parse rejects.
    return JSON.parse(content.replace(/^\uFEFF/, '')) as unknown;
  } catch (err) {
    const message = messageOf(err);
    const position = /at position (\d+)/.exec(message);
    const reason = message.replace(/,\s*".*" is not valid JSON$/, '').replace(/\s*in JSON at position \d+.*$/, '');
    throw new Error(`invalid JSON${position ? ` at ${locate(content, Number(position[1]))}` : ''}: ${reason}`);
  }
};

const loadYamlSafely: Loader = async (file, content) => {
  try {
    return (await defaultLoaders['.yaml'](file, content)) as unknown;
  } catch (err) {
    const { reason, mark } = err as { reason?: string; mark?: { line: number; column: number } };
    const where = mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : '';
    // js-yaml quotes names from the source in its reasons (`unidentified alias "…"`): keep the reason, not the text.
    const safe = (reason ?? 'cannot be parsed').replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => (quoted.length > 5 ? '"…"' : quoted));
    throw new Error(`invalid YAML${where}: ${safe}`);
  }
};

/** CommonJS-style TypeScript compiled by tsx arrives as `{ default: { default: config } }`. */
function unwrapDefault(mod: { default?: unknown }): unknown {
  const value = mod.default;
  if (value !== null && typeof value === 'object' && 'default' in value && (value as { __esModule?: unknown }).__esModule) {
    return (value).default;
  }
  return value;
}

/** The reason a module failed to load, without quoting its source: esbuild quotes the token it choked on. */
function moduleFailure(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').filter((line) => !/^Transform failed/.test(line));
  const first = (lines[0] ?? '').replace(/^.*?:\d+:\d+: ERROR: /, '').replace(/"(?:[^"\\]|\\.)*"/g, (quoted) => (quoted.length > 5 ? '"…"' : quoted));
  const position = /:(\d+):(\d+): ERROR:/.exec(lines[0] ?? '');
  const where = position ? ` at line ${position[1]}, column ${Number(position[2]) + 1}` : '';
  const name = err instanceof Error && err.name !== 'Error' ? `${err.name}${where}: ` : where ? `error${where}: ` : '';
  return `${name}${first.slice(0, 200)}`;
}

// Plain import() for JavaScript; tsx for TypeScript, so a .ts configuration needs no build step and works from
// dist/ under plain node too. Both return the default export.
const loadJs: Loader = async (file) => {
  try {
    return unwrapDefault((await import(pathToFileURL(file).href)) as { default?: unknown });
  } catch (err) {
    throw new Error(moduleFailure(err));
  }
};

const loadTs: Loader = async (file) => {
  try {
    const { tsImport } = await import('tsx/esm/api');
    return unwrapDefault((await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown });
  } catch (err) {
    throw new Error(moduleFailure(err));
  }
};

const LOADERS: Record<string, Loader> = {
  '.json': loadJsonSafely,
  '.yaml': loadYamlSafely,
  '.yml': loadYamlSafely,
  noExt: loadYamlSafely,
  '.js': loadJs,
  '.mjs': loadJs,
  '.cjs': loadJs,
  '.ts': loadTs,
  '.mts': loadTs,
  '.cts': loadTs,
};

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The directories searched: `cwd`, then its parents up to and including the nearest project root (a directory
 * with package.json or .git). Without any project root the search goes up to the filesystem root, as
 * cosmiconfig's own "project" strategy does.
 */
export async function searchDirectories(cwd: string): Promise<string[]> {
  const dirs: string[] = [];
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    dirs.push(dir);
    if ((await exists(join(dir, 'package.json'))) || (await exists(join(dir, '.git')))) return dirs;
    if (dirname(dir) === dir) return dirs;
  }
}

function readFailure(file: string, err: unknown, given: boolean): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  const label = given ? `--config ${file}` : `configuration file ${file}`;
  if (code === 'ENOENT') return new AppError('USAGE', `${label}: no such file; check the path`, { cause: err });
  if (code === 'EISDIR') return new AppError('USAGE', `${label}: is a directory; give a configuration file`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new AppError('USAGE', `${label}: cannot be read (permission denied)`, { cause: err });
  return new AppError('USAGE', `${label}: cannot be loaded: ${messageOf(err)}; fix the file`, { cause: err });
}

interface FoundFile {
  file: string;
  raw: unknown;
}

interface SearchResult {
  found: FoundFile | null;
  /** The directories searched, when nothing was found. */
  searched: { from: string; to: string } | null;
}

/** What the loaders return for a file holding `null` (cosmiconfig itself would treat it as "no file here"). */
const NULL_CONTENT: unknown = Object.freeze({ __analyticsNullContent: true });

/** A loader whose `null` result is kept distinct from "nothing here". */
function keepNull(loader: Loader): Loader {
  return async (file, content) => {
    const value: unknown = await loader(file, content);
    return value === null ? NULL_CONTENT : value;
  };
}

/** An empty file or one holding `null` is an error (§6): `{}` is how to ask for every default. */
function emptyFailure(file: string, given: boolean, why: 'empty' | 'null'): AppError {
  const label = given ? `--config ${file}` : `configuration file ${file}`;
  const module = /\.[cm]?[jt]s$/.test(file);
  const what = why === 'null' ? 'holds null' : module ? 'is empty or has no default export' : 'is empty';
  return new AppError('USAGE', `${label}: ${what}; write {} for every default, or remove the file`);
}

function contentOf(result: { config?: unknown; isEmpty?: boolean; filepath: string }, given: boolean): FoundFile {
  if (result.isEmpty || result.config === undefined) throw emptyFailure(result.filepath, given, 'empty');
  if (result.config === NULL_CONTENT) throw emptyFailure(result.filepath, given, 'null');
  return { file: result.filepath, raw: result.config };
}

/**
 * Reads the configuration file given with `--config`, or the first one found from `cwd` up to the project root.
 * cosmiconfig runs with `searchStrategy: 'none'` per directory because its "project" strategy stops only at
 * package.json (not .git) and its "global" one also reads ~/.config/analytics, which the contract does not know.
 */
async function findConfigFile(cwd: string, given: string | undefined): Promise<SearchResult> {
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: [...SEARCH_PLACES],
    loaders: Object.fromEntries(Object.entries(LOADERS).map(([ext, loader]) => [ext, keepNull(loader)])),
    searchStrategy: 'none',
    cache: false,
    mergeSearchPlaces: false,
    // An empty file is found, so that it can be refused rather than silently skipped.
    ignoreEmptySearchPlaces: false,
  });
  if (given !== undefined) {
    const file = resolve(cwd, given);
    let result: Awaited<ReturnType<typeof explorer.load>>;
    try {
      result = await explorer.load(file);
    } catch (err) {
      throw readFailure(file, err, true);
    }
    // null: a package.json without an "analytics" key, which holds no settings (every default).
    return { found: result ? contentOf(result, true) : { file, raw: {} }, searched: null };
  }
  const dirs = await searchDirectories(cwd);
  for (const dir of dirs) {
    let result: Awaited<ReturnType<typeof explorer.search>>;
    try {
      result = await explorer.search(dir);
    } catch (err) {
      throw readFailure((err as { filepath?: string }).filepath ?? dir, err, false);
    }
    if (result) return { found: contentOf(result, false), searched: null };
  }
  return { found: null, searched: { from: dirs[0]!, to: dirs.at(-1)! } };
}

/**
 * Finds, validates and resolves the configuration, and tells which packager-overridable values the file set.
 * Every problem (file and environment) is reported at once in one `ConfigError` (exit 2).
 */
export async function loadConfigWithSources(options: LoadConfigOptions): Promise<LoadedConfig> {
  const { found, searched } = await findConfigFile(options.cwd, options.flags.config);
  const raw = found ? found.raw : {};
  const fileName = found?.file ?? 'the default configuration';
  const checked = validateConfig(raw, fileName);
  const problems = checked.ok ? [] : [...checked.problems];
  const redact = checked.ok ? resolveRedact(checked.value.redact, options.env, fileName) : null;
  if (redact) problems.push(...redact.problems);
  const pgUrl = fromEnv(options.env, 'ANALYTICS_PG_URL');
  if (pgUrl !== undefined && !coordinationShape.postgres.safeParse(pgUrl).success) {
    problems.push('environment variable ANALYTICS_PG_URL must be a postgres:// or postgresql:// URL or a libpq key=value connection string');
  }
  if (!checked.ok || problems.length > 0) throw new ConfigError(problems);
  const has = (object: unknown, key: string): boolean =>
    object !== null && typeof object === 'object' && (object as Record<string, unknown>)[key] !== undefined;
  return resolveConfig({
    file: checked.value,
    configFile: found?.file ?? null,
    fileKeys: { maxDataSize: has(raw, 'maxDataSize'), contentType: has((raw as { ship?: unknown }).ship, 'contentType') },
    cwd: options.cwd,
    flags: options.flags,
    env: options.env,
    version: toolVersion(),
    systemTmpDir: tmpdir(),
    redact: redact?.value ?? null,
    raw,
    searched,
  });
}

/** The resolved configuration (contract §6); see `loadConfigWithSources` for the packager step. */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  return (await loadConfigWithSources(options)).config;
}
