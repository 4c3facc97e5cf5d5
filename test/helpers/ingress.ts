/**
 * A local ingress for tests, checking uploads the way Red Hat's insights-ingress-go does: one multipart part
 * named `file`, its Content-Type matching `application/vnd.redhat.<service>.<category>…` (else 415), a size
 * limit (413), credentials per auth mode (401), and 202 with `{ request_id, upload }` on success. It records
 * every request, serves an OAuth2 token endpoint, and misbehaves on demand. Also: a real forwarding proxy.
 * Listens on 127.0.0.1 only, on a free port.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import { createProxy } from 'proxy';
import type { ShipConfig } from '../../src/config/types.js';

export const UPLOAD_PATH = '/api/ingress/v1/upload';
export const TOKEN_PATH = '/auth/token';
/** The reference ingress's pattern (anchored here for strictness). */
const CONTENT_TYPE = /^application\/vnd\.redhat\.([a-z0-9-]+)\.([a-z0-9-]+).*/;

export type IngressAuth =
  | { mode: 'none' }
  | { mode: 'basic'; username: string; password: string }
  | { mode: 'bearer'; token: string }
  | { mode: 'identity'; identity: string }
  | { mode: 'service-account'; clientId: string; clientSecret: string; scope?: string; expiresIn?: number }
  | { mode: 'mtls' };

/** One answer the ingress gives instead of its normal handling. */
export type Misbehaviour =
  | {
      status: number;
      retryAfter?: string;
      body?: string;
      location?: string;
      /** Answer with the request headers as the body (to test that echoed secrets are masked). */
      echoHeaders?: boolean;
      /** Answer with the request body as the body (a token endpoint echoing the form it was sent). */
      echoBody?: boolean;
      /** Extra response headers. */
      headers?: Record<string, string>;
      /** After the status and `body`, send bytes without end (64 KiB chunks) until the client goes away. */
      endless?: boolean;
      /** After the status, send `body` one byte every this many ms, then keep sending spaces, never ending. */
      trickleMs?: number;
      /** After the status and `body` (declared longer than it is), destroy the connection. */
      resetAfterBody?: boolean;
    }
  /** Destroy the connection without answering. */
  | 'reset'
  /** Read the request, never answer. */
  | 'hang';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The status answered (0 for reset/hang). */
  status: number;
  /** The `file` part, when one was parsed. */
  file?: { name: string; contentType: string; size: number; content: Buffer };
  /** Names of all multipart parts. */
  parts?: string[];
  /** Common name of the client certificate, when one was presented. */
  clientCert?: string;
}

export interface IngressOptions {
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean; maxVersion?: 'TLSv1.2' | 'TLSv1.3' };
  auth?: IngressAuth;
  /** Largest accepted file part, bytes (default 100 MiB, as the real one). */
  maxBytes?: number;
  /** Success status: 202 (default) or 201 as some deployments answer. */
  successStatus?: number;
}

export interface TestIngress {
  origin: string;
  /** The upload endpoint. */
  url: string;
  /** The OAuth2 token endpoint (service-account). */
  tokenUrl: string;
  port: number;
  requests: RecordedRequest[];
  tokenRequests: { form: Record<string, string>; status: number }[];
  /** Tokens handed out, in order. */
  issuedTokens: string[];
  /** Queue answers for the next upload requests, one per request, in order. */
  misbehave(...answers: Misbehaviour[]): void;
  /** Queue answers for the next token requests. */
  misbehaveToken(...answers: Misbehaviour[]): void;
  /** Resolves when the next request (upload or other, not token) arrives, with its record. */
  nextRequest(): Promise<RecordedRequest>;
  /** Make every token issued so far invalid (the next upload with one gets 401). */
  revokeTokens(): void;
  close(): Promise<void>;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: http.ServerResponse, status: number, body: string | object = '', headers: Record<string, string> = {}): number {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain' : 'application/json';
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
  return status;
}

/** The answers that never end properly: endless, trickling, or reset after the headers. */
function streamBadly(answer: Exclude<Misbehaviour, string>, body: string, headers: Record<string, string>, res: http.ServerResponse): number {
  if (answer.resetAfterBody) {
    res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body) + 100), ...headers });
    res.write(body, () => res.socket?.destroy());
    return answer.status;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json', ...headers });
  if (answer.endless) {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    res.write(body);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {
        // keep writing while the socket takes it
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
    return answer.status;
  }
  let sent = 0;
  const bytes = Buffer.from(body);
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(sent < bytes.length ? bytes.subarray(sent, sent + 1) : ' ');
    sent++;
  }, answer.trickleMs);
  res.on('close', () => clearInterval(timer));
  return answer.status;
}

/** Starts an ingress on 127.0.0.1 (HTTPS when `tls` is given). */
export async function startIngress(options: IngressOptions = {}): Promise<TestIngress> {
  const auth = options.auth ?? { mode: 'none' };
  const maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  const requests: RecordedRequest[] = [];
  const tokenRequests: TestIngress['tokenRequests'] = [];
  const issuedTokens: string[] = [];
  const validTokens = new Set<string>();
  const uploadQueue: Misbehaviour[] = [];
  const tokenQueue: Misbehaviour[] = [];
  const sockets = new Set<Socket>();
  const arrivals = new EventEmitter();

  /** Plays a misbehaviour; returns the status answered (0 when none). */
  async function misbehaveWith(answer: Misbehaviour, req: http.IncomingMessage, res: http.ServerResponse): Promise<number> {
    if (answer === 'reset') {
      req.socket.destroy();
      return 0;
    }
    const received = await readBody(req);
    if (answer === 'hang') return 0;
    const headers: Record<string, string> = {};
    if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
    if (answer.location !== undefined) headers.location = answer.location;
    const echoed = answer.echoBody ? received.toString('utf8') : undefined;
    const body = answer.echoHeaders ? JSON.stringify(req.headers) : (echoed ?? answer.body ?? `status ${answer.status}`);
    Object.assign(headers, answer.headers);
    if (answer.endless || answer.trickleMs !== undefined || answer.resetAfterBody) return streamBadly(answer, body, headers, res);
    return send(res, answer.status, body, headers);
  }

  function authorized(req: http.IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    switch (auth.mode) {
      case 'none':
      case 'mtls': // the TLS layer already refused connections without a valid client certificate
        return true;
      case 'basic':
        return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'bearer':
        return header === `Bearer ${auth.token}`;
      case 'identity':
        return req.headers['x-rh-identity'] === auth.identity;
      case 'service-account':
        return header.startsWith('Bearer ') && validTokens.has(header.slice('Bearer '.length));
    }
  }

  async function handleToken(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const queued = tokenQueue.shift();
    if (queued !== undefined) {
      tokenRequests.push({ form: {}, status: await misbehaveWith(queued, req, res) });
      return;
    }
    const form = Object.fromEntries(new URLSearchParams((await readBody(req)).toString('utf8')));
    const ok =
      auth.mode === 'service-account' &&
      req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') &&
      form.grant_type === 'client_credentials' &&
      form.client_id === auth.clientId &&
      form.client_secret === auth.clientSecret &&
      (auth.scope === undefined || form.scope === auth.scope);
    if (!ok) {
      tokenRequests.push({ form, status: send(res, 401, { error: 'invalid_client' }) });
      return;
    }
    const token = `tok-${issuedTokens.length + 1}-${randomBytes(6).toString('hex')}`;
    issuedTokens.push(token);
    validTokens.add(token);
    const expiresIn = auth.mode === 'service-account' ? (auth.expiresIn ?? 300) : 300;
    tokenRequests.push({ form, status: send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn }) });
  }

  async function handleUpload(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest): Promise<number> {
    const queued = uploadQueue.shift();
    if (queued !== undefined) return misbehaveWith(queued, req, res);
    if (req.method !== 'POST') return send(res, 405, 'method not allowed');
    if (!authorized(req)) {
      await readBody(req);
      return send(res, 401, { errors: [{ status: 401, detail: 'Unauthorized' }] });
    }
    const body = await readBody(req);
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    } catch {
      return send(res, 400, 'File or upload field not found');
    }
    record.parts = [...form.keys()];
    // The ingress's connection test (`check --ship`): the one field test=test and no file; stores nothing.
    if (form.get('test') === 'test' && !form.has('file')) {
      return send(res, 200, '', { 'x-rh-insights-request-id': randomUUID().replaceAll('-', '') });
    }
    const file = form.get('file');
    if (file === null || typeof file === 'string') return send(res, 400, 'File or upload field not found');
    const content = Buffer.from(await file.arrayBuffer());
    record.file = { name: file.name, contentType: file.type, size: content.length, content };
    if (!CONTENT_TYPE.test(file.type)) return send(res, 415, '');
    if (content.length > maxBytes) {
      return send(res, 413, `File exceeds maximum file size (${maxBytes}) for upload: ${content.length}`);
    }
    const requestId = randomUUID().replaceAll('-', '');
    return send(res, options.successStatus ?? 202, { request_id: requestId, upload: { org_id: '12345', account_number: '67890' } });
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const peer = (req.socket as TLSSocket).getPeerCertificate?.();
    const record: RecordedRequest = {
      method: req.method ?? '',
      path,
      headers: req.headers,
      status: 0,
      ...(peer && peer.subject ? { clientCert: String(peer.subject.CN) } : {}),
    };
    const work = async (): Promise<void> => {
      if (path === TOKEN_PATH) return handleToken(req, res);
      requests.push(record);
      arrivals.emit('request', record);
      if (path !== UPLOAD_PATH) {
        await readBody(req);
        record.status = send(res, 404, 'not found');
        return;
      }
      record.status = await handleUpload(req, res, record);
    };
    work().catch(() => req.socket.destroy());
  };

  const server = options.tls
    ? https.createServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.ca ? { ca: options.tls.ca } : {}),
          ...(options.tls.requestCert ? { requestCert: true, rejectUnauthorized: true } : {}),
          ...(options.tls.maxVersion ? { maxVersion: options.tls.maxVersion } : {}),
        },
        handler,
      )
    : http.createServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // TLS handshake failures (unknown CA, missing client certificate) are expected in tests.
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    origin,
    url: `${origin}${UPLOAD_PATH}`,
    tokenUrl: `${origin}${TOKEN_PATH}`,
    port,
    requests,
    tokenRequests,
    issuedTokens,
    misbehave: (...answers) => void uploadQueue.push(...answers),
    misbehaveToken: (...answers) => void tokenQueue.push(...answers),
    nextRequest: async () => ((await once(arrivals, 'request')) as [RecordedRequest])[0],
    revokeTokens: () => validTokens.clear(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface TestProxy {
  /** `http://[user:pass@]127.0.0.1:<port>` */
  url: string;
  port: number;
  /** CONNECT targets (`host:port`) in order. */
  connects: string[];
  /** Proxy-Authorization headers received, in order (undefined when none was sent). */
  proxyAuthorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** A real forwarding proxy (the `proxy` package) on 127.0.0.1; with credentials it answers 407 without them. */
export async function startProxy(credentials?: { username: string; password: string }): Promise<TestProxy> {
  const server = createProxy(http.createServer());
  const connects: string[] = [];
  const proxyAuthorizations: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const expected = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
    : undefined;
  server.authenticate = (req) => {
    connects.push(req.url ?? '');
    proxyAuthorizations.push(req.headers['proxy-authorization']);
    return expected === undefined || req.headers['proxy-authorization'] === expected;
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const auth = credentials ? `${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@` : '';
  return {
    url: `http://${auth}127.0.0.1:${port}`,
    port,
    connects,
    proxyAuthorizations,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A complete ShipConfig with the contract's defaults, for tests. */
export function makeShipConfig(overrides: Partial<ShipConfig> = {}): ShipConfig {
  return {
    auth: 'none',
    contentType: 'application/vnd.redhat.tower.tower_payload+tgz',
    headers: {},
    timeoutMs: 31000,
    retries: 3,
    uploadLimit: 104857600,
    keepFailed: 10,
    requireRequestId: true,
    trackUrl: null,
    ...overrides,
  };
}

/** A pino logger writing into `lines` (raw JSON strings), at trace level so every message is captured. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), lines };
}
