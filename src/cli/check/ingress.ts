/**
 * `check --ship`'s connection test (contract §9): the ingress's test request — `multipart/form-data` with the one
 * field `test` = `test` and no file, which the ingress answers 200 without storing anything — sent with the
 * shipper's own pieces (auth with a real token fetch, proxy agents, CA, client certificate), and the outcome
 * put in words a person can act on.
 */
import type { ShipConfig } from '../../config/types.js';
import { messageOf } from '../../errors.js';
import { escapeControlLine } from '../../secrets/index.js';
import { bodySnippet } from '../../ship/classify.js';
import { connectIngress } from '../../ship/connection.js';
import { exchange } from '../../ship/exchange.js';
import { describeProxy } from '../../ship/proxy.js';
import { requireShipSettings } from '../../ship/settings.js';

export interface IngressVerdict {
  ok: boolean;
  /** One line: "OK: 200 in 143 ms, request id …", "DNS: ingress.corp not found", … */
  verdict: string;
  url: string;
  proxy: string | null;
  status: number | null;
  ms: number;
  requestId: string | null;
}

export interface IngressTestOptions {
  version: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  now?: () => number;
}

/** Sends the test request to `config.url` (which must be set) and judges the answer. */
export async function testIngress(config: ShipConfig, options: IngressTestOptions): Promise<IngressVerdict> {
  // The shipper's own settings (parsed once: certificate files read there) and connection (auth, proxy, TLS).
  const settings = requireShipSettings(config, { env: options.env, version: options.version });
  const now = options.now ?? Date.now;
  const { client, auth } = connectIngress(settings, now);
  const started = now();
  const base = { url: settings.target, proxy: settings.proxy ? describeProxy(settings.proxy) : null };
  const done = (ok: boolean, verdict: string, status: number | null = null, requestId: string | null = null): IngressVerdict => ({
    ok,
    verdict,
    ...base,
    status,
    ms: Math.round(now() - started),
    requestId,
  });

  const credentials = await auth.headers(options.signal);
  if (!credentials.ok) {
    const error = 'error' in credentials.result ? credentials.result.error : 'no credentials';
    return done(false, `token: ${escapeOutside(error)}`);
  }
  const form = new FormData();
  form.append('test', 'test');
  // Bounded like an upload: the whole exchange within ship.timeoutMs, the answer read to 1 MiB at most.
  const answer = await exchange(client, {
    method: 'POST',
    url: settings.url,
    headers: { ...settings.headers, ...credentials.headers },
    body: form,
    timeoutMs: settings.timeoutMs,
    signal: options.signal,
  });
  if (answer.kind === 'error') return done(false, errorVerdict(answer.error, settings.url, config));
  const { status } = answer;
  const body = answer.body.toString('utf8');
  if (status >= 200 && status < 300) {
    const requestId = requestIdOf(body, answer.headers['x-rh-insights-request-id']);
    const ms = Math.round(now() - started);
    return done(true, `OK: ${status} in ${ms} ms${requestId ? `, request id ${escapeOutside(requestId)}` : ''}`, status, requestId === null ? null : escapeOutside(requestId));
  }
  const location = answer.headers.location;
  return done(false, statusVerdict(status, body, config, Array.isArray(location) ? location[0] : location), status);
}

function requestIdOf(body: string, header: string | string[] | undefined): string | null {
  try {
    const parsed = JSON.parse(body) as { request_id?: unknown };
    if (typeof parsed.request_id === 'string' || typeof parsed.request_id === 'number') return String(parsed.request_id);
  } catch {
    // A test request may be answered with no body at all.
  }
  const value = Array.isArray(header) ? header[0] : header;
  return value ? value : null;
}

/** Words for an answer that is not a 2xx. */
function statusVerdict(status: number, body: string, config: ShipConfig, location: string | undefined): string {
  const snippet = bodySnippet(body);
  const said = snippet ? ` (the ingress said: ${escapeOutside(snippet)})` : '';
  if (status === 401) return `401: the credentials were refused (ship.auth "${config.auth}")${said}`;
  if (status === 403) return `403: the credentials were accepted but may not upload here${said}`;
  if (status === 404) return `404: nothing at ship.url; is it the upload endpoint?${said}`;
  if (status === 407) return `407: the proxy wants credentials (put them in ship.proxy or HTTPS_PROXY)${said}`;
  if (status === 413) return `413: the ingress refused the request as too large${said}`;
  if (status === 415) return `415: the ingress refused the request's media type; is ship.url the upload endpoint, and ship.contentType one it takes?${said}`;
  if (status >= 300 && status < 400) {
    return `${status}: redirected${location ? ` to ${escapeOutside(location)}` : ''}; redirects are not followed, set ship.url to the final address`;
  }
  if (status >= 500) return `${status}: the ingress failed; try again later${said}`;
  return `${status}: the ingress refused the test request${said}`;
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
}

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let current = err as ErrorLike | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === 'string') codes.push(current.code);
    current = current.cause as ErrorLike | undefined;
  }
  return codes;
}

/** Words for a request that got no HTTP answer. */
function errorVerdict(err: unknown, url: string, config: ShipConfig): string {
  const { hostname, port, protocol } = new URL(url);
  const where = `${hostname}:${port || (protocol === 'https:' ? 443 : 80)}`;
  const message = messageOf(err);
  const codes = codesOf(err);
  const has = (test: (code: string) => boolean): string | undefined => codes.find(test);
  const proxyStatus = /Bad response: (\d{3})/.exec(message);
  if (proxyStatus) return `proxy: it answered ${proxyStatus[1]} to CONNECT${proxyStatus[1] === '407' ? ' (check the proxy credentials)' : ''}`;
  if (has((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME')) return `DNS: ${hostname} not found`;
  if (has((c) => c === 'ECONNREFUSED')) return `connection refused by ${where}: nothing listens there (is the ingress up, and ship.url right?)`;
  if (has((c) => c === 'ERR_TLS_CERT_ALTNAME_INVALID')) return `TLS: the certificate of ${where} is not for ${hostname}`;
  if (has((c) => c === 'CERT_HAS_EXPIRED')) return `TLS: the certificate of ${where} has expired`;
  const untrusted = has((c) => /SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|CERT_(UNTRUSTED|SIGNATURE_FAILURE|CHAIN)/.test(c));
  if (untrusted) return `TLS: certificate not trusted (${untrusted}; set ship.caFile to the CA that signed it)`;
  if (/alert (handshake failure|certificate required|bad certificate|unknown ca)/i.test(message) || has((c) => /ALERT|EPROTO/.test(c))) {
    return config.auth === 'mtls'
      ? `TLS: ${where} refused our client certificate (mTLS); check ship.certFile and ship.keyFile`
      : `TLS: ${where} refused the handshake; does it want a client certificate (ship.auth "mtls")?`;
  }
  if ((err as ErrorLike).name === 'TimeoutError' || has((c) => c === 'ETIMEDOUT')) {
    return `timeout: no answer from ${where} within ship.timeoutMs (${config.timeoutMs} ms)`;
  }
  if (has((c) => c === 'ECONNRESET')) {
    return config.auth === 'mtls' && protocol === 'https:'
      ? `TLS: ${where} closed the connection during the handshake; with mTLS check ship.certFile and ship.keyFile`
      : `connection reset by ${where}`;
  }
  return `connection: ${escapeOutside(message)}`;
}

/** Text from outside (an ingress body, a header) with control characters shown escaped (contract §5). */
const escapeOutside = escapeControlLine;
