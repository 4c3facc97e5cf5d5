/** The configuration after discovery, validation, environment and flags (contract §6). Paths are absolute. */
export type AuthMode = 'basic' | 'service-account' | 'bearer' | 'mtls' | 'identity' | 'none';

export interface ShipConfig {
  url?: string;
  tokenUrl?: string;
  proxy?: string;
  contentType?: string;
  auth: AuthMode;
  username?: string;
  password?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  token?: string;
  identity?: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
  uploadLimit: number;
  keepFailed: number;
  /** A 2xx without a `request_id` is a failure unless this is false (§5). */
  requireRequestId: boolean;
  /** `ship.trackUrl`, else `ship.url` with a last path segment `upload` replaced by `track`, else null (§9). */
  trackUrl: string | null;
}

export interface CoordinationConfig {
  postgres?: string;
  lockName: string;
  table: string;
  /** Bound of each database wait (connect, lock, query), 1000–2147483647 ms. */
  timeoutMs: number;
}

/** One `mask` rule: `pattern` is compiled with the flag `g` (plus `u` when the source is valid with it). */
export interface MaskRule {
  pattern: RegExp;
  replace: string;
  columns: string[] | null;
}

export interface RedactRules {
  drop: string[];
  hash: string[];
  mask: MaskRule[];
}

/** `redact` (contract §10), validated; rules are per key as written (`*` included), not merged yet. */
export interface RedactConfig {
  /** The environment variable the key is read from; default ANALYTICS_REDACT_KEY. */
  keyEnv: string;
  /** The value of `process.env[keyEnv]` at load, or null (a SECRET: never print it). */
  key: string | null;
  rules: ReadonlyMap<string, RedactRules>;
}

export interface ResolvedConfig {
  /** The file the configuration came from, or null when none was found. */
  configFile: string | null;
  collectors: string;
  output: string;
  stateFile: string;
  tmpDir: string;
  maxDataSize: number;
  gzipLevel: number;
  collectorTimeoutMs: number;
  /** Collections running at once, 1–64. */
  concurrency: number;
  /** A file lock not refreshed for this long is taken over from any host (>= 60000). */
  lockStaleMs: number;
  /** History of runs (§9); default `history.jsonl` beside the state file. */
  historyFile: string;
  historyKeep: number;
  /** `--metrics-file` or `metricsFile`; null: no metrics file. */
  metricsFile: string | null;
  redact: RedactConfig | null;
  packager: string | null;
  ship: ShipConfig;
  coordination: CoordinationConfig;
}

/** Values given on the command line; they win over everything else. Relative paths resolve from `cwd`. */
export interface ConfigFlags {
  config?: string;
  collectors?: string;
  output?: string;
  /** `--metrics-file FILE` (§9). */
  metricsFile?: string;
}

/** Where an effective value came from (for `check`). */
export type ConfigSource = 'flag' | 'environment' | 'file' | 'packager' | 'default';
