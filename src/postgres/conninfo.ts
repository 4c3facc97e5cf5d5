/**
 * `coordination.postgres` may be a URL or a libpq `key=value` string (`host=db port=5432 dbname=app user=x`).
 * node-postgres only understands URLs, so key=value strings are turned into the equivalent URL here.
 */
import { usageError } from '../errors.js';

/** libpq keywords we pass on, and the URL part each becomes. */
const KEYWORDS = new Set([
  'host', 'hostaddr', 'port', 'dbname', 'user', 'password',
  'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'application_name', 'connect_timeout', 'options',
]);

const PAIR = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)+)/y;

/**
 * The connection string as a URL node-postgres can read. URLs (and pg's `socket:` form) pass unchanged.
 * Throws AppError('USAGE') for malformed or unsupported key=value strings, naming the keyword, never a value.
 */
export function toConnectionUrl(text: string, name = 'coordination.postgres'): string {
  const trimmed = text.trim();
  if (/^(postgres(ql)?:\/\/|socket:)/i.test(trimmed)) return trimmed;
  const values = new Map<string, string>();
  PAIR.lastIndex = 0;
  let end = 0;
  for (let match = PAIR.exec(trimmed); match !== null; match = PAIR.exec(trimmed)) {
    const [, key = '', raw = ''] = match;
    if (!KEYWORDS.has(key)) {
      throw usageError(
        `${name}: the libpq keyword "${key}" is not supported (use ${[...KEYWORDS].join(', ')}; or write a postgresql:// URL)`,
      );
    }
    const unquoted = raw.startsWith("'") ? raw.slice(1, -1) : raw;
    values.set(key, unquoted.replace(/\\(.)/g, '$1'));
    end = PAIR.lastIndex;
  }
  if (end === 0 || trimmed.slice(end).trim() !== '') {
    throw usageError(`${name} is neither a postgresql:// URL nor libpq key=value pairs`);
  }
  // No host: pg (unlike libpq, which tries a Unix socket) uses PGHOST, else localhost. Said explicitly here, since
  // a URL with credentials needs a host.
  const host = values.get('host') ?? values.get('hostaddr') ?? process.env['PGHOST'] ?? 'localhost';
  if (host.includes(',')) throw usageError(`${name}: several hosts are not supported; name one host`);
  const query = new URLSearchParams();
  if (host.startsWith('/')) query.set('host', host); // a Unix socket directory
  for (const key of ['sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'application_name', 'connect_timeout', 'options']) {
    const value = values.get(key);
    if (value !== undefined) query.set(key, value);
  }
  const enc = encodeURIComponent;
  const user = values.get('user');
  const password = values.get('password');
  const userinfo = user === undefined && password === undefined ? '' : `${enc(user ?? '')}${password === undefined ? '' : `:${enc(password)}`}@`;
  // A socket directory goes in `?host=`, which pg reads in place of the URL's (placeholder) host.
  const hostPart = host.startsWith('/') ? 'localhost' : host.includes(':') ? `[${host}]` : enc(host);
  const port = values.get('port');
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw usageError(`${name}: port must be a number`);
  const dbname = values.get('dbname');
  const search = query.toString();
  return `postgresql://${userinfo}${hostPart}${port === undefined ? '' : `:${port}`}/${dbname === undefined ? '' : enc(dbname)}${search ? `?${search}` : ''}`;
}
