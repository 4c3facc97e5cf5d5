/**
 * Where secrets come from (contract §5, §8, §10): the ship credentials and their `ANALYTICS_*` variables, the
 * passwords of proxy URLs, the database password in every form libpq accepts, and the redaction key. Parsing is
 * pure (`*Secrets` functions); `register*` adds the results to the process's registry.
 */
import { registerSecret } from './registry.js';

/** Environment variables whose whole value is a secret. */
export const SECRET_ENV = [
  'ANALYTICS_USERNAME',
  'ANALYTICS_PASSWORD',
  'ANALYTICS_CLIENT_ID',
  'ANALYTICS_CLIENT_SECRET',
  'ANALYTICS_TOKEN',
  'ANALYTICS_IDENTITY',
  'ANALYTICS_REDACT_KEY',
  'PGPASSWORD',
] as const;

/** Environment variables holding a proxy URL, whose credentials are secrets. */
export const PROXY_ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'] as const;

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** User name and password of a URL's userinfo (`scheme://user:pass@host`), as written and decoded, and the pair. */
export function urlCredentials(value: string | null | undefined): string[] {
  const match = value ? /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)@/.exec(value.trim()) : null;
  if (!match) return [];
  const userinfo = match[1]!;
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  const password = colon < 0 ? '' : userinfo.slice(colon + 1);
  const found = [user, password, decode(user), decode(password)];
  if (user && password) found.push(`${decode(user)}:${decode(password)}`, userinfo);
  return found.filter(Boolean);
}

/** The values of `password` in a URL's query string (`?password=…`), as written and decoded. */
function queryPasswords(value: string): string[] {
  const query = /\?([^#]*)/.exec(value)?.[1];
  if (!query) return [];
  const found: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || decode(pair.slice(0, eq).replace(/\+/g, ' ')).trim().toLowerCase() !== 'password') continue;
    const raw = pair.slice(eq + 1);
    found.push(raw, decode(raw), decode(raw.replace(/\+/g, ' ')));
  }
  return found;
}

/** A libpq `key=value` conninfo's `password` values: single-quoted with backslash escapes, or a bare word. */
function conninfoPasswords(value: string): string[] {
  const found: string[] = [];
  const pair = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'?|(?:[^\s'\\]|\\.)+)/g;
  for (const match of value.matchAll(pair)) {
    if (match[1]!.toLowerCase() !== 'password') continue;
    const raw = match[2]!;
    const quoted = raw.startsWith("'");
    const body = quoted ? raw.slice(1, raw.endsWith("'") && raw.length > 1 ? -1 : undefined) : raw;
    found.push(raw, body, body.replace(/\\(.)/g, '$1'));
  }
  return found;
}

/**
 * The password of a PostgreSQL connection string, in every form libpq accepts: URL userinfo (`user:pass@`),
 * a `password` query parameter, a `password=` pair of the `key=value` form. User names are not secrets.
 */
export function connectionStringSecrets(value: string | null | undefined): string[] {
  if (!value) return [];
  const text = value.trim();
  const found: string[] = [];
  if (/^postgres(?:ql)?:\/\//i.test(text)) {
    const userinfo = /^[^:]+:\/\/([^/?#]*)@/.exec(text)?.[1];
    const colon = userinfo?.indexOf(':') ?? -1;
    if (userinfo && colon >= 0) {
      const password = userinfo.slice(colon + 1);
      found.push(password, decode(password));
    }
    found.push(...queryPasswords(text));
  } else {
    found.push(...conninfoPasswords(text));
  }
  return [...new Set(found.filter(Boolean))];
}

/** The configuration's parts that hold secrets (a `ResolvedConfig` fits). */
export interface SecretSources {
  ship: {
    url?: string | undefined;
    tokenUrl?: string | undefined;
    proxy?: string | undefined;
    username?: string | undefined;
    password?: string | undefined;
    clientId?: string | undefined;
    clientSecret?: string | undefined;
    token?: string | undefined;
    identity?: string | undefined;
  };
  coordination: { postgres?: string | undefined };
  redact?: { keyEnv?: string; key: string | null } | null;
}

/** Every secret the environment holds by itself (before any configuration is read). */
export function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  const values: (string | undefined)[] = SECRET_ENV.map((name) => env[name]);
  if (env.ANALYTICS_USERNAME && env.ANALYTICS_PASSWORD) values.push(`${env.ANALYTICS_USERNAME}:${env.ANALYTICS_PASSWORD}`);
  if (env.ANALYTICS_CLIENT_ID && env.ANALYTICS_CLIENT_SECRET) values.push(`${env.ANALYTICS_CLIENT_ID}:${env.ANALYTICS_CLIENT_SECRET}`);
  values.push(...PROXY_ENV.flatMap((name) => urlCredentials(env[name])));
  values.push(...connectionStringSecrets(env.ANALYTICS_PG_URL));
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** Every secret a resolved configuration holds, with those of the environment. */
export function configSecrets(config: SecretSources, env: NodeJS.ProcessEnv): string[] {
  const { ship } = config;
  const values: (string | null | undefined)[] = [
    ship.username,
    ship.password,
    ship.clientId,
    ship.clientSecret,
    ship.token,
    ship.identity,
    ship.username && ship.password ? `${ship.username}:${ship.password}` : undefined,
    ship.clientId && ship.clientSecret ? `${ship.clientId}:${ship.clientSecret}` : undefined,
    ...urlCredentials(ship.url),
    ...urlCredentials(ship.tokenUrl),
    ...urlCredentials(ship.proxy),
    ...connectionStringSecrets(config.coordination.postgres),
    config.redact?.key,
    config.redact?.keyEnv ? env[config.redact.keyEnv] : undefined,
    ...environmentSecrets(env),
  ];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
}

/** Registers what the environment holds; the CLI calls this first thing, before reading any file. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const secret of environmentSecrets(env)) registerSecret(secret);
}

/** Registers every secret of a resolved configuration and the environment. */
export function registerSecretsFromConfig(config: SecretSources, env: NodeJS.ProcessEnv = process.env): void {
  for (const secret of configSecrets(config, env)) registerSecret(secret);
}
