/**
 * Ship settings, parsed once (contract §5, §6): the `ship.*` configuration and the proxy environment become one
 * typed value — URLs checked, the auth mode's credentials picked, the proxy chosen, certificate files read and
 * loaded — or the problems that prevent it, in two kinds: a wrong value (exit 2) and shipping not configured or
 * not safe to use (exit 4). Everything after takes the value as given.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { AuthMode, ShipConfig } from '../config/types.js';
import { AppError, messageOf, usageError } from '../errors.js';
import { registerSecret, registerSecretsFromConfig } from '../secrets/index.js';
import { describeProxy, proxyFor } from './proxy.js';
import { displayUrl, isLoopbackHost, isPlaceholderHost, parseHttpUrl } from './url.js';

/** Auth modes that put a credential into the request (and so need https, or plain http to loopback, no proxy). */
export const CREDENTIAL_MODES: ReadonlySet<AuthMode> = new Set(['basic', 'service-account', 'bearer', 'identity']);

/** The credentials of the chosen auth mode, present and non-empty. */
export type ShipAuth =
  | { mode: 'none' }
  | { mode: 'mtls' }
  | { mode: 'basic'; username: string; password: string }
  | { mode: 'bearer'; token: string }
  | { mode: 'identity'; identity: string }
  | { mode: 'service-account'; tokenUrl: string; tokenProxy: string | null; clientId: string; clientSecret: string; scope: string | null };

/** TLS material, read from the configured files. `ca` is the default CAs plus `ship.caFile`. */
export interface ShipTls {
  ca: string[] | null;
  cert: string | null;
  key: string | null;
}

/** The `ship.*` values taken as configured (validated by the configuration schema). */
type ShipLimits = Pick<ShipConfig, 'timeoutMs' | 'retries' | 'uploadLimit' | 'keepFailed' | 'requireRequestId' | 'trackUrl'>;

export interface ShipSettings extends ShipLimits {
  url: string;
  /** `url` fit for messages (no query string). */
  target: string;
  contentType: string;
  auth: ShipAuth;
  /** The proxy requests to `url` go through, or null. */
  proxy: string | null;
  tls: ShipTls;
  /** Lower-cased names; `User-Agent` included; never `authorization` when an auth mode is set. */
  headers: Record<string, string>;
}

/** The outcome of parsing: the settings, or the problems of each kind. */
export interface ParsedShipSettings {
  settings: ShipSettings | null;
  /** Wrong values (exit 2), one line each naming the key and the fix. */
  usage: string[];
  /** Missing pieces (exit 4): url, contentType, the auth mode's credentials. A packager hook may overrule these. */
  missing: string[];
  /** Not safe or not real (exit 4): credentials over plain http or through a proxy, a placeholder URL. */
  unsafe: string[];
}

type CredentialKey = 'username' | 'password' | 'clientId' | 'clientSecret' | 'tokenUrl' | 'token' | 'identity' | 'certFile' | 'keyFile';

/** What each auth mode needs, and the environment variable that can supply it. */
const REQUIRED: Record<AuthMode, [CredentialKey, string | null][]> = {
  none: [],
  basic: [
    ['username', 'ANALYTICS_USERNAME'],
    ['password', 'ANALYTICS_PASSWORD'],
  ],
  'service-account': [
    ['clientId', 'ANALYTICS_CLIENT_ID'],
    ['clientSecret', 'ANALYTICS_CLIENT_SECRET'],
    ['tokenUrl', null],
  ],
  bearer: [['token', 'ANALYTICS_TOKEN']],
  identity: [['identity', 'ANALYTICS_IDENTITY']],
  mtls: [
    ['certFile', null],
    ['keyFile', null],
  ],
};

const isSet = (value: string | undefined): value is string => typeof value === 'string' && value.trim() !== '';

function missingPieces(config: ShipConfig): string[] {
  const missing: string[] = [];
  if (!isSet(config.url)) missing.push('ship.url');
  if (!isSet(config.contentType)) missing.push('ship.contentType');
  for (const [key, envName] of REQUIRED[config.auth] ?? []) {
    if (!isSet(config[key])) missing.push(envName ? `ship.${key} (or ${envName})` : `ship.${key}`);
  }
  return missing;
}

/** The one-line "not configured" message for missing pieces, or null. */
function missingMessage(config: ShipConfig, missing: string[]): string | null {
  if (missing.length === 0) return null;
  const auth = config.auth === 'none' ? '' : ` for ship.auth "${config.auth}"`;
  const one = missing.length === 1;
  return `shipping is not configured${auth}: ${missing.join(', ')} ${one ? 'is' : 'are'} not set; set ${one ? 'it' : 'them'} in the configuration file or the environment`;
}

function checkUrl(key: string, value: string | undefined, usage: string[]): URL | null {
  if (value === undefined) return null;
  const url = parseHttpUrl(value);
  if (!url) {
    usage.push(`ship.${key}: not an http:// or https:// URL; give a full URL such as https://host/path`);
    return null;
  }
  if (key !== 'proxy' && (url.username || url.password)) {
    usage.push(`ship.${key}: credentials in the URL are not allowed; use ship.auth with its own keys or ANALYTICS_* variables`);
  }
  return url;
}

function readPem(key: 'certFile' | 'keyFile' | 'caFile', path: string | undefined, usage: string[]): string | null {
  if (path === undefined) return null;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? messageOf(err);
    usage.push(`ship.${key}: cannot read ${path} (${code}); give a readable PEM file`);
    return null;
  }
}

function checkHeaders(headers: Record<string, string>, usage: string[]): void {
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization') {
      usage.push('ship.headers: an Authorization header is not allowed; choose ship.auth (basic, bearer, service-account) instead');
      continue;
    }
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      usage.push(`ship.headers: "${name}" is not a valid HTTP header name and value; remove it or fix it`);
    }
  }
}

/** TLS files: read once, checked the way TLS would use them. */
function readTls(config: ShipConfig, usage: string[]): ShipTls {
  const client = config.auth === 'mtls' ? readClientPair(config, usage) : { cert: null, key: null };
  const caText = readPem('caFile', config.caFile, usage);
  if (caText === null) return { ca: null, ...client };
  try {
    // TLS silently ignores a CA file without certificates; parse it to catch that.
    if (!caText.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate found');
    new X509Certificate(caText);
  } catch (err) {
    usage.push(`ship.caFile: ${config.caFile} holds no usable CA certificate (${messageOf(err)}); give a PEM file`);
    return { ca: null, ...client };
  }
  // Node's `ca` option replaces the default CAs: pass both, so caFile adds to them.
  return { ca: [...rootCertificates, caText], ...client };
}

/** The mtls certificate and key, read and checked to belong together. */
function readClientPair(config: ShipConfig, usage: string[]): { cert: string | null; key: string | null } {
  const cert = readPem('certFile', config.certFile, usage);
  const key = readPem('keyFile', config.keyFile, usage);
  if (cert === null || key === null) return { cert: null, key: null };
  // The private key's body is a secret like any other (a line of it must never be printed).
  for (const line of key.split('\n')) if (!line.startsWith('-----')) registerSecret(line.trim());
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    usage.push(`ship.certFile/ship.keyFile: cannot use ${config.certFile} with ${config.keyFile} (${messageOf(err)}); give a matching PEM certificate and key`);
    return { cert: null, key: null };
  }
  return { cert, key };
}

/**
 * Credentials travel only over https, or plain http to a loopback address with no proxy in between (§5).
 * `key` names the setting in the message.
 */
function transportProblem(key: 'url' | 'tokenUrl', url: URL, proxy: string | null, what: string): string | null {
  if (url.protocol === 'https:') return null;
  if (!isLoopbackHost(url.hostname)) {
    return `ship.${key}: ${what} travel only over https (or plain http to a loopback address); use an https:// URL`;
  }
  if (proxy === null) return null;
  return `ship.${key}: ${what} would travel in clear text through the proxy ${describeProxy(proxy)}; use an https:// URL, or exclude ${url.hostname} with NO_PROXY (and do not set ship.proxy)`;
}

function placeholderProblem(key: 'url' | 'tokenUrl', url: URL | null): string | null {
  if (url === null || !isPlaceholderHost(url.hostname)) return null;
  return `ship.${key}: ${displayUrl(url.href)} is a placeholder (a reserved example domain), not an ingress; set the real address`;
}

function unsafeProblems(config: ShipConfig, url: URL | null, tokenUrl: URL | null, env: NodeJS.ProcessEnv): string[] {
  const unsafe = [placeholderProblem('url', url), config.auth === 'service-account' ? placeholderProblem('tokenUrl', tokenUrl) : null];
  if (CREDENTIAL_MODES.has(config.auth)) {
    if (url) unsafe.push(transportProblem('url', url, proxyFor(url.href, config.proxy, env), `credentials of ship.auth "${config.auth}"`));
    if (config.auth === 'service-account' && tokenUrl) {
      unsafe.push(transportProblem('tokenUrl', tokenUrl, proxyFor(tokenUrl.href, config.proxy, env), 'client credentials'));
    }
  }
  return unsafe.filter((p): p is string => p !== null);
}

/**
 * The request headers: `User-Agent: analytics-collect/<version>`, under the packager's `headers()`, under
 * `ship.headers`. A packager's Authorization header is used only when ship.auth is "none": a configured mode
 * always wins.
 */
function requestHeaders(config: ShipConfig, options: Pick<ParseOptions, 'version' | 'extraHeaders'>): Record<string, string> {
  const headers = mergeHeaders(options.version ? { 'user-agent': `analytics-collect/${options.version}` } : {}, options.extraHeaders, config.headers);
  if (config.auth !== 'none') delete headers.authorization;
  return headers;
}

/** Header objects merged left to right, names lower-cased so `User-Agent` and `user-agent` are one header. */
function mergeHeaders(...sources: (Record<string, string> | undefined)[]): Record<string, string> {
  const merged: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const source of sources) {
    for (const [name, value] of Object.entries(source ?? {})) merged[name.toLowerCase()] = value;
  }
  return merged;
}

function authOf(config: ShipConfig, tokenProxy: string | null): ShipAuth {
  switch (config.auth) {
    case 'basic':
      return { mode: 'basic', username: config.username!, password: config.password! };
    case 'bearer':
      return { mode: 'bearer', token: config.token! };
    case 'identity':
      return { mode: 'identity', identity: config.identity! };
    case 'service-account':
      return { mode: 'service-account', tokenUrl: config.tokenUrl!, tokenProxy, clientId: config.clientId!, clientSecret: config.clientSecret!, scope: config.scope ?? null };
    case 'mtls':
    case 'none':
      return { mode: config.auth };
  }
}

export interface ParseOptions {
  /** Where proxy variables are read from. */
  env: NodeJS.ProcessEnv;
  /** The package version, for the default `User-Agent: analytics-collect/<version>`. */
  version?: string;
  /** Headers from the packager's `headers()`, merged under `ship.headers`. */
  extraHeaders?: Record<string, string>;
}

/** Parses `config` into settings, or says what is wrong. Pure but for reading the PEM files it names. */
export function parseShipSettings(config: ShipConfig, options: ParseOptions): ParsedShipSettings {
  const { env } = options;
  registerSecretsFromConfig({ ship: config, coordination: {} }, env);
  const usage: string[] = [];
  const url = checkUrl('url', config.url, usage);
  const tokenUrl = checkUrl('tokenUrl', config.tokenUrl, usage);
  checkUrl('proxy', config.proxy, usage);
  checkHeaders(config.headers ?? {}, usage);
  if (config.auth === 'mtls' && url && url.protocol !== 'https:') usage.push('ship.url: ship.auth "mtls" needs an https:// URL');
  const tls = readTls(config, usage);
  const missing = missingPieces(config);
  const unsafe = unsafeProblems(config, url, tokenUrl, env);
  if (usage.length > 0 || missing.length > 0 || unsafe.length > 0 || !url) return { settings: null, usage, missing, unsafe };
  const headers = requestHeaders(config, options);
  const settings: ShipSettings = {
    url: url.href,
    target: displayUrl(url.href),
    contentType: config.contentType!,
    auth: authOf(config, tokenUrl ? proxyFor(tokenUrl.href, config.proxy, env) : null),
    proxy: proxyFor(url.href, config.proxy, env),
    tls,
    headers,
    timeoutMs: config.timeoutMs,
    retries: config.retries,
    uploadLimit: config.uploadLimit,
    keepFailed: config.keepFailed,
    requireRequestId: config.requireRequestId ?? true,
    trackUrl: config.trackUrl ?? null,
  };
  return { settings, usage, missing, unsafe };
}

/** Parsed settings per configuration object and environment: the files are read once however often asked. */
const parsed = new WeakMap<ShipConfig, WeakMap<NodeJS.ProcessEnv, ParsedShipSettings>>();

/** `parseShipSettings`, once per (config, env) pair. */
export function shipSettingsOf(config: ShipConfig, env: NodeJS.ProcessEnv = process.env): ParsedShipSettings {
  let byEnv = parsed.get(config);
  if (!byEnv) parsed.set(config, (byEnv = new WeakMap()));
  let result = byEnv.get(env);
  if (!result) byEnv.set(env, (result = parseShipSettings(config, { env })));
  return result;
}

/**
 * Every wrong value of a ship configuration (exit 2), each one line naming the key and the fix; `[]` when
 * none. `where` (e.g. the configuration file) is appended.
 */
export function validateShipConfig(config: ShipConfig, where?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const { usage } = shipSettingsOf(config, env);
  return where ? usage.map((p) => `${p} (${where})`) : usage;
}

/**
 * Null when shipping over HTTP is configured — url and contentType set, the chosen auth's credentials present —
 * and safe: not a placeholder URL, credentials never in clear text. Else a one-line reason (exit 4).
 */
export function shippingProblem(config: ShipConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  const { missing, unsafe } = shipSettingsOf(config, env);
  return missingMessage(config, missing) ?? unsafeMessage(unsafe);
}

/**
 * Only the "not safe" half of `shippingProblem`: what still applies when a packager's `isShippingConfigured()`
 * has replaced the check for missing pieces, and HTTP is used.
 */
export function unsafeShippingProblem(config: ShipConfig, env: NodeJS.ProcessEnv = process.env): string | null {
  return unsafeMessage(shipSettingsOf(config, env).unsafe);
}

const unsafeMessage = (unsafe: string[]): string | null => (unsafe.length === 0 ? null : `shipping is not configured safely: ${unsafe.join('; ')}`);

/**
 * The settings, or the error that stops shipping: AppError('USAGE') for wrong values, AppError('NOT_CONFIGURED')
 * for missing or unsafe ones. `options.version`/`extraHeaders` shape the request headers.
 */
export function requireShipSettings(config: ShipConfig, options: ParseOptions): ShipSettings {
  const { usage, missing, unsafe } = shipSettingsOf(config, options.env);
  if (usage.length > 0) throw usageError(usage.join('; '));
  const problem = missingMessage(config, missing) ?? unsafeMessage(unsafe);
  if (problem !== null) throw new AppError('NOT_CONFIGURED', problem);
  // Headers depend on the version and the packager: merged per call; the rest (files read) comes from the memo.
  const { settings } = shipSettingsOf(config, options.env);
  return { ...settings!, headers: requestHeaders(config, options) };
}
