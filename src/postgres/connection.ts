/**
 * Opening connections and naming the server in messages without ever showing a password.
 */
import { hostname } from 'node:os';
import type { Client } from 'pg';
import { AppError, messageOf, usageError } from '../errors.js';
import { connectionStringSecrets, redactSecrets, registerSecret } from '../secrets/index.js';
import type { PgModule } from './load.js';

const UNPARSED = 'the server named by the connection string';

/**
 * `host:port/database` of a connection string, for messages. The user name and password are never included.
 * Unknown shapes give a neutral description rather than the raw string.
 */
export function describeTarget(connectionString: string): string {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return UNPARSED;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:' && url.protocol !== 'socket:') {
    return UNPARSED;
  }
  const host = url.searchParams.get('host') ?? (url.hostname !== '' ? url.hostname : (process.env['PGHOST'] ?? 'localhost'));
  const port = url.searchParams.get('port') ?? (url.port !== '' ? url.port : (process.env['PGPORT'] ?? '5432'));
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const database = url.searchParams.get('db') ?? (path !== '' ? path : (process.env['PGDATABASE'] ?? '(default database)'));
  return `${host}:${port}/${database}`;
}

/**
 * Removes the connection string and its password from a message. The drivers' own messages do not carry them, but
 * a URL parser's might; this is the last line of defence before text reaches a log. The password, in every form
 * libpq accepts, joins the process's secrets (src/secrets), so it is masked wherever else it turns up too.
 */
export function redact(text: string, connectionString: string): string {
  for (const secret of connectionStringSecrets(connectionString)) registerSecret(secret);
  return redactSecrets(text.split(connectionString).join('<connection string>'));
}

export interface ConnectOptions {
  connectionString: string;
  /** What the connection is for, e.g. `the coordination lock`; used in messages. */
  purpose: string;
  /** Shown in `pg_stat_activity.application_name`, so other nodes can tell who holds the lock. */
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Called when an open connection fails later (server restart, network loss). */
  onError?: (error: Error) => void;
}

/** `analytics-collect <host> pid <pid>`, cut to PostgreSQL's 63-byte limit for application names. */
export function applicationName(): string {
  const suffix = ` pid ${process.pid}`;
  const host = hostname().replace(/[^\x20-\x7e]/g, '?');
  return `analytics-collect ${host}`.slice(0, 63 - suffix.length) + suffix;
}

/**
 * Opens one client. A server that cannot be reached is a configuration problem: AppError('USAGE') naming
 * host, port and database, never the password.
 */
export async function connect(pg: PgModule, options: ConnectOptions): Promise<Client> {
  const target = describeTarget(options.connectionString);
  const fail = (err: unknown): AppError =>
    usageError(
      `cannot connect to PostgreSQL at ${target} for ${options.purpose}: ${redact(messageOf(err), options.connectionString)}; ` +
        (target === UNPARSED
          ? 'write it as postgresql://user:password@host:5432/database (coordination.postgres / ANALYTICS_PG_URL)'
          : 'check coordination.postgres / ANALYTICS_PG_URL and that the server is running'),
    );
  let client: Client;
  try {
    client = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName ?? applicationName(),
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      keepAlive: true,
    });
  } catch (err) {
    throw fail(err);
  }
  // Without a listener, an 'error' on an idle client (server restart, network loss) would crash the process.
  client.on('error', (err) => options.onError?.(err));
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw fail(err);
  }
  return client;
}
