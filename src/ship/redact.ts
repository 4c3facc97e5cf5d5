/**
 * Keeping secrets out of logs, errors and output (contract §5). Error texts from the HTTP stack carry URLs,
 * header values and response bodies that may echo what we sent; everything leaving the ship stage goes through
 * `redactSecrets` with the run's secret values first.
 */
import type { ShipConfig } from '../config/types.js';

const MASK = '[redacted]';

/**
 * Secrets shorter than this are not searched for in free text: masking every "a" or "42" in a message would
 * destroy it while protecting nothing worth protecting. Structural patterns (URL credentials, Authorization
 * values) are masked whatever their length.
 */
const MIN_SECRET_LENGTH = 4;

/** The forms a secret may take on the wire or in a URL. */
function variants(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]);
  return [...forms];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Random-looking: has a digit or a symbol, or is too long to be a word. */
const looksLikeCredential = (value: string): boolean => /[0-9\-._~+/=]/.test(value) || /[a-z][A-Z]/.test(value) || value.length >= 20;

/**
 * Replaces every occurrence of the given secrets (and their URL-encoded and base64 forms), credentials in URLs
 * (`//user:pass@`) and the values of Authorization-like headers with `[redacted]`.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined | null)[]): string {
  let out = text;
  const needles = secrets
    .filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH)
    .flatMap(variants)
    // Longest first, so a secret containing another is masked whole.
    .sort((a, b) => b.length - a.length);
  for (const needle of needles) out = out.replace(new RegExp(escapeRegExp(needle), 'g'), MASK);
  return out
    .replace(/(\/\/)[^/\s@:]*:[^/\s@]*@/g, `$1${MASK}@`)
    .replace(/((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(basic|bearer)\s+)?[^\s"',;}]+/gi, (_m, head: string, scheme?: string) =>
      `${head}${scheme ? `${scheme} ` : ''}${MASK}`,
    )
    // A credential after a scheme name; plain words ("basic authentication") are left alone.
    .replace(/\b(bearer|basic)\s+([A-Za-z0-9\-._~+/]{8,}=*)/gi, (match, scheme: string, value: string) =>
      looksLikeCredential(value) ? `${scheme} ${MASK}` : match,
    )
    .replace(/(x-rh-identity["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi, `$1${MASK}`);
}

/** Username and password embedded in a proxy URL, if any. */
function urlCredentials(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url);
    const found = [parsed.username, parsed.password].filter(Boolean).map((part) => decodeURIComponent(part));
    if (parsed.username || parsed.password) {
      found.push(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`);
    }
    return found;
  } catch {
    return [];
  }
}

/**
 * Every secret value a ship configuration (already merged with `ANALYTICS_*`) and the proxy environment hold,
 * for `redactSecrets`. Includes the `user:password` pair that Basic auth base64-encodes.
 */
export function secretsOf(config: Partial<ShipConfig>, env: NodeJS.ProcessEnv = process.env): string[] {
  const values = [
    config.username,
    config.password,
    config.clientId,
    config.clientSecret,
    config.token,
    config.identity,
    config.username !== undefined && config.password !== undefined ? `${config.username}:${config.password}` : undefined,
    ...urlCredentials(config.proxy),
    ...urlCredentials(config.url),
    ...urlCredentials(config.tokenUrl),
    ...['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].flatMap((name) => urlCredentials(env[name])),
  ];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
}

/**
 * Paths for pino's `redact` option: wherever a ship configuration or request headers might be logged whole.
 * Use with `pino({ redact: { paths: SHIP_REDACT_PATHS, censor: '[redacted]' } })`.
 */
export const SHIP_REDACT_PATHS: readonly string[] = [
  ...['password', 'clientSecret', 'token', 'identity', 'username', 'clientId', 'proxy'].flatMap((key) => [
    `ship.${key}`,
    `config.ship.${key}`,
    `*.ship.${key}`,
  ]),
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers["x-rh-identity"]',
  '*.headers.authorization',
  '*.headers["proxy-authorization"]',
  '*.headers["x-rh-identity"]',
];
