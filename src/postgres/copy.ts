/**
 * The fast path for collectors that export tables (contract §8): PostgreSQL formats the CSV itself
 * (`COPY (<query>) TO STDOUT WITH CSV HEADER`) and the bytes stream, with backpressure, into a CsvFileSplitter,
 * which splits them between records without parsing them again.
 */
import { once } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, PoolClient } from 'pg';
import type { CsvFileSplitter } from '../collect/csv-splitter.js';
import { usageError } from '../errors.js';
import { sendCancelRequest } from './cancel.js';
import { connect } from './connection.js';
import { parseConnInfo } from './conninfo.js';
import { loadCopyStreams, loadPg } from './load.js';
import { copyStatement } from './sql.js';

export interface CopyToCsvOptions {
  /** A connected client (e.g. from a pool). It is left connected, and usable, whatever happens. */
  client?: Client | PoolClient;
  /**
   * Or a connection string (URL or libpq `key=value`): a client is opened for this copy and closed after it.
   * Exactly one of the two.
   */
  connectionString?: string;
  /**
   * One SELECT-like statement (SELECT, VALUES, WITH …, or DML with RETURNING) — what `COPY (…)` accepts. A
   * trailing `;` is fine; a second statement is refused.
   */
  query: string;
  /**
   * Values for `$1`, `$2`… COPY takes no bind parameters, so each is written into the query as a literal:
   * strings via pg's `escapeLiteral`, numbers and bigints as numbers, booleans as TRUE/FALSE, null/undefined as
   * NULL, Dates as `'<toISOString()>'::timestamptz`, Buffers as bytea. Placeholders inside strings, quoted
   * names and comments are left alone. Every param must be used.
   */
  params?: readonly unknown[];
  /** Where the CSV goes; `copyToCsv` writes into `out.writable()` and then calls `out.close()`. */
  out: CsvFileSplitter;
  /** Stops the copy (pass `ctx.signal`): the query is cancelled on the server and the promise rejects. */
  signal?: AbortSignal;
}

/**
 * Streams a query's result as CSV (header first) into `out` and returns the files it wrote (`out.close()`).
 *
 * @example
 * const out = new CsvFileSplitter({ path: join(ctx.outputDir, 'events.csv'), maxFileSize: ctx.maxDataSize });
 * return copyToCsv({ connectionString: process.env.ANALYTICS_PG_URL, out, signal: ctx.signal,
 *   query: 'SELECT * FROM events WHERE created >= $1 AND created < $2 ORDER BY id', params: [ctx.since, ctx.until] });
 */
export async function copyToCsv(options: CopyToCsvOptions): Promise<string[]> {
  const { client: given, connectionString, query, params = [], out, signal } = options;
  if ((given === undefined) === (connectionString === undefined)) {
    throw usageError('copyToCsv: give exactly one of "client" and "connectionString"');
  }
  if (typeof query !== 'string') throw usageError('copyToCsv: "query" must be a string');
  signal?.throwIfAborted();
  const { to: copyTo } = await loadCopyStreams('copyToCsv (analytics-collect/postgres)');
  const setting = 'copyToCsv: connectionString';
  const session =
    given === undefined
      ? await connect(await loadPg('copyToCsv (analytics-collect/postgres)'), {
          info: parseConnInfo(connectionString!, setting),
          setting,
          purpose: 'copyToCsv',
        })
      : undefined;
  const client = given ?? session!.client;
  try {
    const sql = copyStatement(query, params, (text) => client.escapeLiteral(text));
    signal?.throwIfAborted();
    await transfer(client, client.query(copyTo(sql)), out.writable(), signal);
    return await out.close();
  } finally {
    await session?.end();
  }
}

/**
 * Moves the COPY bytes into `sink`. The COPY stream must only ever end by the server's word: destroying it
 * (what `pipeline` does when the sink fails or the signal fires) leaves the connection detached from pg,
 * mid-protocol, for good. So a failure on our side (sink error, abort) asks the server to cancel the query and
 * discards what still arrives until the server's error ends the stream; the client is then usable again.
 */
async function transfer(client: Client, source: Readable, sink: Writable, signal?: AbortSignal): Promise<void> {
  let failure: unknown;
  let cancelling: Promise<void> | undefined;
  // Once the server has sent everything there is nothing to cancel, and a late cancel could hit the borrowed
  // client's next query.
  let serverDone = false;
  source.once('end', () => (serverDone = true));
  const fail = (reason: unknown): void => {
    if (failure !== undefined) return;
    failure = reason;
    if (serverDone) return;
    cancelling = sendCancelRequest(client).then((delivered) => {
      // Last resort; for a client we were given, its owner must discard it (release(true) / end()).
      if (!delivered) source.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    });
  };
  const onAbort = (): void => fail(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  sink.on('error', fail);

  // Forwards to the sink with its backpressure; never fails itself, so `pipeline` never destroys the source.
  const guard = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failure !== undefined || sink.write(chunk)) return callback();
      const settle = (): void => {
        sink.off('drain', settle);
        sink.off('error', settle);
        signal?.removeEventListener('abort', settle);
        callback();
      };
      sink.on('drain', settle);
      sink.on('error', settle);
      signal?.addEventListener('abort', settle, { once: true });
    },
    final(callback) {
      if (failure !== undefined) return callback();
      sink.end();
      once(sink, 'finish').then(() => callback(), () => callback());
    },
  });

  try {
    await pipeline(source, guard);
  } catch (err) {
    if (failure === undefined) {
      // The server failed the query (the connection is fine), or the connection broke.
      sink.destroy();
      throw err;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await cancelling;
  }
  if (failure !== undefined) {
    sink.destroy();
    throw failure as Error;
  }
}
