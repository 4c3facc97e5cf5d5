/**
 * A TCP proxy in front of the local PostgreSQL (127.0.0.1:5432 by default) for the §8 tests:
 * - **stalls**: once a client message matches `stallWhen`, that connection stops forwarding in both directions
 *   (a network path that hangs without closing); when the client drops its side, the proxy closes the server
 *   side, so the server ends the backend and frees its locks;
 * - **TLS**: `none` answers the SSLRequest with `N` (a server without TLS); `offer` answers `S` and terminates
 *   TLS with the given certificate (or passes a plain startup through); `require` also refuses plain startups
 *   (as pg_hba `hostssl` does, with SQLSTATE 28000).
 * Listens on 127.0.0.1 only, on a free port.
 */
import { EventEmitter, once } from 'node:events';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

export interface PgProxyOptions {
  upstreamPort?: number;
  tls?: 'none' | 'offer' | 'require';
  cert?: string;
  key?: string;
  /** Given each client chunk (latin1 text); true stalls that connection from this chunk on. */
  stallWhen?: (text: string) => boolean;
}

export class PgProxy extends EventEmitter {
  readonly server: Server;
  port = 0;
  /** Connections that stalled so far. */
  stalls = 0;
  /** Connections that negotiated TLS. */
  tlsConnections = 0;
  plainConnections = 0;
  readonly #sockets = new Set<Socket>();

  constructor(readonly options: PgProxyOptions = {}) {
    super();
    this.server = createServer((socket) => this.#handle(socket));
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** A connection string to the proxy (URL form) with extra query parameters. */
  url(query = ''): string {
    return `postgresql://root@127.0.0.1:${this.port}/test${query === '' ? '' : `?${query}`}`;
  }

  /** Resolves at the next stall. */
  nextStall(): Promise<void> {
    return once(this, 'stall').then(() => undefined);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  #track(socket: Socket): Socket {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    return socket;
  }

  #handle(raw: Socket): void {
    this.#track(raw);
    raw.once('readable', () => this.#negotiate(raw));
  }

  /** Reads the first 8 bytes: an SSLRequest / GSSENCRequest, or the start of a plain startup message. */
  #negotiate(raw: Socket, allowTls = true): void {
    const head = raw.read(8) as Buffer | null;
    if (head === null) {
      if (!raw.destroyed) raw.once('readable', () => this.#negotiate(raw, allowTls));
      return;
    }
    const code = head.readInt32BE(4);
    const mode = this.options.tls ?? 'none';
    if (head.readInt32BE(0) === 8 && code === GSS_REQUEST) {
      raw.write('N');
      return void raw.once('readable', () => this.#negotiate(raw, allowTls));
    }
    if (head.readInt32BE(0) === 8 && code === SSL_REQUEST && allowTls) {
      if (mode === 'none') {
        raw.write('N');
        return void raw.once('readable', () => this.#negotiate(raw, false));
      }
      raw.write('S');
      const secure = new TLSSocket(raw, { isServer: true, cert: this.options.cert!, key: this.options.key! });
      secure.on('error', () => raw.destroy());
      secure.once('secure', () => {
        this.tlsConnections++;
        this.#pipe(secure, Buffer.alloc(0));
      });
      return;
    }
    if (mode === 'require') {
      raw.end(errorResponse('28000', 'no pg_hba.conf entry for host "127.0.0.1", no encryption'));
      return;
    }
    this.plainConnections++;
    this.#pipe(raw, head);
  }

  #pipe(client: Socket, first: Buffer): void {
    const upstream = this.#track(netConnect(this.options.upstreamPort ?? 5432, '127.0.0.1'));
    let stalled = false;
    const stall = (): void => {
      stalled = true;
      this.stalls++;
      this.emit('stall');
    };
    if (first.length > 0) upstream.write(first);
    client.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (this.options.stallWhen?.(chunk.toString('latin1'))) return stall();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    // The client leaving ends the server session (its locks go with it), stalled or not.
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

/** A protocol-3 ErrorResponse (FATAL) with a SQLSTATE and message. */
function errorResponse(sqlstate: string, message: string): Buffer {
  const fields = Buffer.concat([
    Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${message}\0`, 'utf8'),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

export async function startPgProxy(options: PgProxyOptions = {}): Promise<PgProxy> {
  return new PgProxy(options).listen();
}
