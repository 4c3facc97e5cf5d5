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
}

export interface CoordinationConfig {
  postgres?: string;
  lockName: string;
  table: string;
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
  packager: string | null;
  ship: ShipConfig;
  coordination: CoordinationConfig;
}

/** Values given on the command line; they win over everything else. Relative paths resolve from `cwd`. */
export interface ConfigFlags {
  config?: string;
  collectors?: string;
  output?: string;
}
