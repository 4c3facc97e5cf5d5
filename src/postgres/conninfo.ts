/**
 * `coordination.postgres` (and `copyToCsv`'s `connectionString`) is libpq's connection string: a
 * `postgresql://` URL or `key=value` pairs. It is parsed here, once, into a typed {@link ConnInfo}; node-postgres
 * then gets plain options (never the string), so its own parser — which gives `sslmode` other meanings than
 * libpq and prints a "SECURITY WARNING" on stderr — is never involved.
 */
import { usageError } from '../errors.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** A parsed connection string. Unset fields fall back to libpq's environment (PGHOST, PGUSER…) in `pg`. */
export interface ConnInfo {
  /** Host name, IP address, or a Unix-socket directory (starting with `/`). */
  host: string;
  port: number;
  database: string | undefined;
  user: string | undefined;
  /** A SECRET: never put it in a message. */
  password: string | undefined;
  sslmode: SslMode;
  sslrootcert: string | undefined;
  sslcert: string | undefined;
  sslkey: string | undefined;
  applicationName: string | undefined;
  /** libpq `options` (e.g. `-c search_path=x`), passed to the server as given. */
  options: string | undefined;
  /** libpq `connect_timeout` in milliseconds, when given. */
  connectTimeoutMs: number | undefined;
}

/** libpq keywords we understand (URL query parameters and key=value pairs alike). */
const KEYWORDS = new Set([
  'host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert',
  'application_name', 'connect_timeout', 'options',
]);
/** node-postgres' own URL parameters, accepted for compatibility: `ssl=true` means `sslmode=require`. */
const PG_COMPAT = new Set(['ssl', 'uselibpqcompat']);

const PAIR = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)+)/y;
const URL_PREFIX = /^postgres(?:ql)?:\/\//i;

/**
 * Parses a libpq connection string. Throws AppError('USAGE') naming the setting (`name`) and the keyword for
 * anything malformed or unsupported — never a value, since the string holds a password.
 */
export function parseConnInfo(text: string, name = 'coordination.postgres', env: NodeJS.ProcessEnv = process.env): ConnInfo {
  const trimmed = text.trim();
  const values = URL_PREFIX.test(trimmed) ? urlValues(trimmed, name) : /^socket:/i.test(trimmed) ? socketValues(trimmed, name) : pairValues(trimmed, name);
  return resolve(values, name, env);
}

/** The password of a connection string in every form it can be written there (as written and decoded), for redaction. */
export function conninfoPasswords(text: string): string[] {
  const found = new Set<string>();
  const trimmed = text.trim();
  try {
    if (URL_PREFIX.test(trimmed)) {
      const url = new URL(trimmed);
      if (url.password !== '') {
        found.add(url.password);
        found.add(safeDecode(url.password));
      }
      for (const raw of rawQueryValues(url.search, 'password')) {
        found.add(raw);
        found.add(safeDecode(raw.replace(/\+/g, ' ')));
      }
    } else {
      const values = /^socket:/i.test(trimmed) ? socketValues(trimmed, '') : pairValues(trimmed, '');
      const password = values.get('password');
      if (password !== undefined) found.add(password);
      for (const raw of rawPairValues(trimmed, 'password')) found.add(raw);
    }
  } catch {
    // Not a connection string we can read: nothing is used from it, so nothing to hide beyond the whole text.
  }
  found.delete('');
  return [...found];
}

/** The libpq-style text for messages: `host:port/database`, never the user's password. */
export function describeConnInfo(info: ConnInfo): string {
  const host = info.host.includes(':') && !info.host.startsWith('/') ? `[${info.host}]` : info.host;
  return `${host}:${info.port}/${info.database ?? '(default database)'}`;
}

function urlValues(text: string, name: string): Map<string, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${name} is not a valid postgresql:// URL (write it as postgresql://user:password@host:5432/database)`);
  }
  const values = new Map<string, string>();
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw usageError(`${name}: the ${what} in the URL has a broken %-escape`);
    }
  };
  if (url.username !== '') values.set('user', decode(url.username, 'user name'));
  if (url.password !== '') values.set('password', decode(url.password, 'password'));
  if (url.hostname !== '') values.set('host', decode(url.hostname.replace(/^\[(.*)\]$/, '$1'), 'host'));
  if (url.port !== '') values.set('port', url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '') values.set('dbname', decode(path, 'database name'));
  for (const [key, value] of url.searchParams) {
    if (!KEYWORDS.has(key) && !PG_COMPAT.has(key)) throw unsupported(name, key);
    values.set(key, value);
  }
  return values;
}

/** node-postgres' `socket:/dir?db=name` form. */
function socketValues(text: string, name: string): Map<string, string> {
  const match = /^socket:([^?]*)(?:\?(.*))?$/i.exec(text);
  if (match === null) throw usageError(`${name} is not a valid socket: connection string`);
  const values = new Map<string, string>([['host', safeDecode(match[1] ?? '')]]);
  for (const [key, value] of new URLSearchParams(match[2] ?? '')) {
    const keyword = key === 'db' ? 'dbname' : key;
    if (!KEYWORDS.has(keyword)) throw unsupported(name, key);
    values.set(keyword, value);
  }
  return values;
}

function pairValues(text: string, name: string): Map<string, string> {
  const values = new Map<string, string>();
  PAIR.lastIndex = 0;
  let end = 0;
  for (let match = PAIR.exec(text); match !== null; match = PAIR.exec(text)) {
    const [, key = '', raw = ''] = match;
    if (!KEYWORDS.has(key)) throw unsupported(name, key);
    const unquoted = raw.startsWith("'") ? raw.slice(1, -1) : raw;
    values.set(key, unquoted.replace(/\\(.)/g, '$1'));
    end = PAIR.lastIndex;
  }
  if (end === 0 || text.slice(end).trim() !== '') {
    throw usageError(`${name} is neither a postgresql:// URL nor libpq key=value pairs`);
  }
  return values;
}

function resolve(values: Map<string, string>, name: string, env: NodeJS.ProcessEnv): ConnInfo {
  const host = values.get('host') || values.get('hostaddr') || env['PGHOST'] || 'localhost';
  if (host.includes(',')) throw usageError(`${name}: several hosts are not supported; name one host`);
  const portText = values.get('port') || env['PGPORT'] || '5432';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw usageError(`${name}: port must be a number from 1 to 65535`);
  }
  const timeoutText = values.get('connect_timeout');
  if (timeoutText !== undefined && !/^\d{1,9}$/.test(timeoutText)) throw usageError(`${name}: connect_timeout must be a whole number of seconds`);
  return {
    host,
    port: Number(portText),
    database: values.get('dbname') || undefined,
    user: values.get('user') || undefined,
    password: values.get('password'),
    sslmode: sslModeOf(values, name, env),
    sslrootcert: values.get('sslrootcert') || undefined,
    sslcert: values.get('sslcert') || undefined,
    sslkey: values.get('sslkey') || undefined,
    applicationName: values.get('application_name') || undefined,
    options: values.get('options') || undefined,
    // libpq: 0 (or nothing) waits without limit, and a value under 2 s counts as 2 s.
    connectTimeoutMs: timeoutText === undefined || Number(timeoutText) === 0 ? undefined : Math.max(2, Number(timeoutText)) * 1000,
  };
}

function sslModeOf(values: Map<string, string>, name: string, env: NodeJS.ProcessEnv): SslMode {
  const given = values.get('sslmode');
  if (given !== undefined) {
    if (!(SSL_MODES as readonly string[]).includes(given)) {
      throw usageError(`${name}: sslmode must be one of ${SSL_MODES.join(', ')}`);
    }
    return given as SslMode;
  }
  const ssl = values.get('ssl');
  if (ssl !== undefined) return /^(1|true|on|yes)$/i.test(ssl) ? 'require' : 'disable';
  const fromEnv = env['PGSSLMODE'];
  if (fromEnv !== undefined && (SSL_MODES as readonly string[]).includes(fromEnv)) return fromEnv as SslMode;
  return 'prefer';
}

function unsupported(name: string, key: string): Error {
  return usageError(
    `${name}: the libpq keyword "${key}" is not supported (use ${[...KEYWORDS].join(', ')})`,
  );
}

/** Values of `key` in a URL query exactly as written (still %-encoded). */
function rawQueryValues(search: string, key: string): string[] {
  return search
    .replace(/^\?/, '')
    .split('&')
    .map((pair) => pair.split('='))
    .filter(([k]) => safeDecode(k ?? '') === key)
    .map(([, ...rest]) => rest.join('='));
}

/** Values of `key` in key=value text exactly as written (quotes and backslashes included). */
function rawPairValues(text: string, key: string): string[] {
  const out: string[] = [];
  PAIR.lastIndex = 0;
  for (let match = PAIR.exec(text); match !== null; match = PAIR.exec(text)) {
    if (match[1] === key && match[2] !== undefined) {
      out.push(match[2]);
      if (match[2].startsWith("'")) out.push(match[2].slice(1, -1));
    }
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
