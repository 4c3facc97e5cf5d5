/**
 * Sessions with PostgreSQL whose every wait is bounded (contract §8): connecting, each statement (server-side
 * `statement_timeout` and `lock_timeout`, plus a client-side timer for a network that stalls without closing),
 * and ending. A wait still running when the run's signal fires (the first SIGINT/SIGTERM) is abandoned at once.
 * A session that gave up on a wait is destroyed: its socket closes, so the server ends the backend and frees
 * whatever it held (an advisory lock, a row lock) as soon as it notices.
 */
import { hostname } from 'node:os';
import type { Client, ClientConfig } from 'pg';
import { AppError, messageOf, usageError } from '../errors.js';
import { connectionStringSecrets, redactSecrets, registerSecret } from '../secrets/index.js';
import { conninfoPasswords, describeConnInfo, type ConnInfo } from './conninfo.js';
import type { PgModule } from './load.js';
import { tlsHint, tlsPlan } from './tls.js';

/** Grace on top of the server-side timeouts, so the server's own (clearer) error normally arrives first. */
const CLIENT_GRACE_MS = 1000;
const STATEMENT_GRACE_MS = 300;
/** How long a connection attempt may take when no `timeoutMs` is given (copyToCsv). */
const DEFAULT_CONNECT_MS = 10_000;

/** A wait on the database that did not end within its bound. Mapped by the caller to exit 2 or 1. */
export class DatabaseTimeoutError extends Error {
  override readonly name = 'DatabaseTimeoutError';
}

export interface ConnectOptions {
  info: ConnInfo;
  /** The setting the connection string came from, for messages. */
  setting?: string;
  /** What the connection is for, e.g. `the coordination lock`; used in messages. */
  purpose: string;
  /** Shown in `pg_stat_activity.application_name`, so other nodes can tell who holds the lock. */
  applicationName?: string;
  /** Bound on every wait (ms), also sent as `statement_timeout`/`lock_timeout`. Unset: only connecting is bounded. */
  timeoutMs?: number;
  /** Abandons a wait in progress when it fires. */
  signal?: AbortSignal;
  /** Called once when the open connection fails or closes later (server restart, terminated backend, network loss). */
  onClosed?: (error: Error) => void;
}

/** `host:port/database`, for messages; never the user name or password. */
export const describeTarget = describeConnInfo;

/**
 * Removes the connection string and its password from a message: the last line of defence before text reaches a
 * log. The password, in every form libpq accepts, joins the process's secrets (src/secrets), so it is masked
 * wherever else it turns up too (the output boundary, history, metrics).
 */
export function redact(text: string, connectionString: string): string {
  for (const secret of [...conninfoPasswords(connectionString), ...connectionStringSecrets(connectionString)]) registerSecret(secret);
  return redactSecrets(text.split(connectionString).join('<connection string>'));
}

/** `analytics-collect <host> pid <pid>`, cut to PostgreSQL's 63-byte limit for application names. */
export function applicationName(): string {
  const suffix = ` pid ${process.pid}`;
  const host = hostname().replace(/[^\x20-\x7e]/g, '?');
  return `analytics-collect ${host}`.slice(0, 63 - suffix.length) + suffix;
}

/** One connection, every wait on it bounded. */
export class Session {
  #closed = false;
  constructor(
    readonly client: Client,
    private readonly options: ConnectOptions,
  ) {
    const close = (err: Error): void => {
      if (this.#closed) return;
      this.#closed = true;
      options.onClosed?.(err);
    };
    // Without an 'error' listener an idle client's failure would crash the process.
    client.on('error', (err) => close(err));
    client.on('end', () => close(new Error('the connection was closed')));
  }

  /** True once the connection failed, closed or was given up. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Runs one statement; `doing` says what for (`writing the state`), in messages. */
  async query<R extends object = Record<string, unknown>>(sql: string, params: unknown[], doing: string): Promise<R[]> {
    const result = await this.bound(this.client.query<R>(sql, params), doing);
    return result.rows;
  }

  /** Closes the connection, bounded; never throws. After a given-up wait, just drops the socket. */
  async end(): Promise<void> {
    if (this.#closed) return this.destroy();
    this.#closed = true;
    await this.bound(this.client.end(), 'closing the connection', false).catch(() => this.destroy());
  }

  /** Drops the socket at once (the server ends the session, releasing its locks, when it notices). */
  destroy(): void {
    this.#closed = true;
    destroySocket(this.client);
  }

  /** `work` bounded by the session's timeout and signal; on either, the connection is dropped. */
  bound<T>(work: Promise<T>, doing: string, useSignal = true): Promise<T> {
    const { timeoutMs } = this.options;
    return boundWait(work, {
      ms: timeoutMs === undefined ? undefined : timeoutMs + CLIENT_GRACE_MS,
      signal: useSignal ? this.options.signal : undefined,
      giveUp: () => this.destroy(),
      timeout: () => new DatabaseTimeoutError(this.#timeoutText(doing)),
    }).catch((err: unknown) => {
      throw this.#explain(err, doing);
    });
  }

  #timeoutText(doing: string): string {
    const seconds = Math.round((this.options.timeoutMs ?? 0) / 100) / 10;
    return `PostgreSQL at ${describeTarget(this.options.info)} did not answer within ${seconds} s (coordination.timeoutMs) while ${doing}`;
  }

  /** Server-side timeouts read like the client-side one, with what was waited for. */
  #explain(err: unknown, doing: string): unknown {
    const code = (err as { code?: unknown }).code;
    if (code === '55P03') {
      return new DatabaseTimeoutError(
        `${this.#timeoutText(doing)}: another session holds a lock it needs (an open transaction on the state row, LOCK TABLE, ALTER TABLE or VACUUM FULL?)`,
        { cause: err },
      );
    }
    if (code === '57014' && /statement timeout/.test(messageOf(err))) return new DatabaseTimeoutError(this.#timeoutText(doing), { cause: err });
    return err;
  }
}

/**
 * Opens a session, trying the TLS attempts of `sslmode` in order. A server that cannot be reached is a
 * configuration problem: AppError('USAGE') naming host, port and database (never the password), with a hint
 * for TLS failures. A timeout is a {@link DatabaseTimeoutError}; a fired signal rejects with its reason.
 */
export async function connect(pg: PgModule, options: ConnectOptions): Promise<Session> {
  const { info } = options;
  registerSecret(info.password);
  const setting = options.setting ?? 'coordination.postgres';
  const plan = tlsPlan(info, setting);
  const target = describeTarget(info);
  for (let i = 0; ; i++) {
    const ssl = plan.attempts[i]!;
    try {
      return await attempt(pg, options, ssl);
    } catch (err) {
      if (err instanceof DatabaseTimeoutError || err instanceof AppError || err === options.signal?.reason) throw err;
      if (i + 1 < plan.attempts.length && plan.fallback(err)) continue;
      const hint = tlsHint(err, plan.mode);
      const message = redactSecrets(messageOf(err));
      throw usageError(
        `cannot connect to PostgreSQL at ${target} for ${options.purpose}: ${message}; ` +
          (hint !== '' ? hint : `check ${setting} (or ANALYTICS_PG_URL) and that the server is running`),
        err,
      );
    }
  }
}

async function attempt(pg: PgModule, options: ConnectOptions, ssl: ClientConfig['ssl']): Promise<Session> {
  const { info, timeoutMs } = options;
  const config: ClientConfig = {
    host: info.host,
    port: info.port,
    ssl,
    application_name: options.applicationName ?? info.applicationName ?? applicationName(),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(info.database === undefined ? {} : { database: info.database }),
    ...(info.user === undefined ? {} : { user: info.user }),
    ...(info.password === undefined ? {} : { password: info.password }),
    ...(info.options === undefined ? {} : { options: info.options }),
    // The lock wait's own error (it names the cause) comes before the statement's, which comes before our timer's.
    ...(timeoutMs === undefined ? {} : { lock_timeout: timeoutMs, statement_timeout: timeoutMs + STATEMENT_GRACE_MS }),
  };
  const client = new pg.Client(config);
  let ready = false;
  const session = new Session(client, { ...options, onClosed: (err) => void (ready && options.onClosed?.(err)) });
  const connectMs = Math.min(timeoutMs ?? DEFAULT_CONNECT_MS, info.connectTimeoutMs ?? Number.MAX_SAFE_INTEGER);
  const seconds = Math.round(connectMs / 100) / 10;
  await boundWait(client.connect(), {
    ms: connectMs,
    signal: options.signal,
    giveUp: () => session.destroy(),
    timeout: () =>
      new DatabaseTimeoutError(
        `PostgreSQL at ${describeTarget(info)} did not answer within ${seconds} s (${timeoutMs === undefined ? 'connect_timeout' : 'coordination.timeoutMs'}) while connecting for ${options.purpose}`,
      ),
  });
  ready = true;
  return session;
}

interface WaitBounds {
  ms: number | undefined;
  signal: AbortSignal | undefined;
  giveUp: () => void;
  timeout: () => Error;
}

/** Races `work` with a timer and the signal; the loser's late result is ignored. */
export function boundWait<T>(work: Promise<T>, bounds: WaitBounds): Promise<T> {
  const { ms } = bounds;
  // Only a wait in progress when the signal fires is abandoned: one started after it (the state saved for a
  // stopped run) still runs, bounded by its timer.
  const signal = bounds.signal?.aborted ? undefined : bounds.signal;
  if (ms === undefined && signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const giveUp = (error: unknown): void =>
      finish(() => {
        bounds.giveUp();
        reject(error);
      });
    const onAbort = (): void => giveUp(signal?.reason ?? new AppError('INTERRUPTED', 'stopped by a signal'));
    const timer = ms === undefined ? undefined : setTimeout(() => giveUp(bounds.timeout()), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

function destroySocket(client: Client): void {
  const connection = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection;
  connection?.stream?.destroy();
}
