/**
 * Turning what the HTTP stack says into a ShipResult, so nothing past the ship stage reads status codes.
 * 2xx sent; 408, 429, 5xx and connection trouble retryable; everything else final (contract §5).
 */
import type { ShipResult } from '../types.js';

/** How many bytes of a response body go into a failure message. */
export const BODY_SNIPPET_BYTES = 200;

/** The first bytes of a body, on one line, for messages. */
export function bodySnippet(body: string | Buffer | undefined): string {
  if (body === undefined) return '';
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const text = buf.subarray(0, BODY_SNIPPET_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return buf.length > BODY_SNIPPET_BYTES ? `${oneLine}…` : oneLine;
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP dates all start with a day name; Date.parse would read "-5" as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/** Error codes of connection trouble that may pass: worth another attempt. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN', // DNS temporarily unavailable (unlike ENOTFOUND, which is final)
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP2_STREAM_ERROR',
]);

/** Certificate verification failures: final, another attempt would meet the same certificate. */
const isTlsVerificationCode = (code: string): boolean =>
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT)|ERR_TLS_|ERR_SSL_/.test(code);

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  name?: unknown;
  cause?: unknown;
}

/** The most specific error code on `err` or its causes. */
function errorCode(err: unknown): string | undefined {
  let current = err as ErrorLike | undefined;
  let found: string | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (typeof current.code === 'string' && !current.code.startsWith('ERR_GOT_')) found = current.code;
    current = current.cause as ErrorLike | undefined;
  }
  return found;
}

/**
 * Classifies a thrown request error. `what` names the request in the message (e.g. `upload of x.tar.gz to
 * https://host/path`). The message uses the error's own text: callers redact it before it leaves the stage.
 */
export function classifyRequestError(err: unknown, what: string): ShipResult {
  const e = (err ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message.replace(/\s*\n\s*/g, ' ').trim() : String(err);
  const code = errorCode(err);
  if (e.name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return { status: 'retryable', error: `${what} timed out (${message})` };
  }
  // hpagent reports a proxy that refuses the CONNECT as `Bad response: <status>`.
  const proxyStatus = /Bad response: (\d{3})/.exec(message);
  if (proxyStatus) {
    const status = Number(proxyStatus[1]);
    const text = `${what} failed: the proxy answered ${status} to CONNECT`;
    return isRetryableStatus(status) ? { status: 'retryable', error: text } : { status: 'failed', error: `${text}${status === 407 ? ' (check the proxy credentials)' : ''}` };
  }
  if (code === 'ENOTFOUND') return { status: 'failed', error: `${what} failed: host not found (${message})` };
  if (code !== undefined && isTlsVerificationCode(code)) {
    return { status: 'failed', error: `${what} failed: TLS error ${code} (${message}); check ship.caFile and the server certificate` };
  }
  if (code === 'EPROTO' || /alert (handshake failure|certificate required|bad certificate)/.test(message)) {
    return { status: 'failed', error: `${what} failed: TLS error: the server refused the handshake (${message}); with auth "mtls" check ship.certFile and ship.keyFile` };
  }
  if (code !== undefined && RETRYABLE_CODES.has(code)) {
    return { status: 'retryable', error: `${what} failed: ${code} (${message})` };
  }
  return { status: 'failed', error: `${what} failed: ${message}` };
}

/** The part of a response we classify. */
export interface ResponseLike {
  statusCode: number;
  statusMessage?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function requestIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && 'request_id' in parsed) {
      const id = (parsed as { request_id: unknown }).request_id;
      if (typeof id === 'string' || typeof id === 'number') return String(id);
    }
  } catch {
    // Some ingresses answer 2xx with no JSON: still a success, just without a request id.
  }
  return undefined;
}

/** Classifies an upload response. `now` is for Retry-After dates. */
export function classifyResponse(response: ResponseLike, what: string, now: number): ShipResult {
  const { statusCode: status } = response;
  if (status >= 200 && status < 300) {
    const requestId = requestIdOf(response.body);
    return requestId === undefined ? { status: 'sent' } : { status: 'sent', requestId };
  }
  const snippet = bodySnippet(response.body);
  const reason = response.statusMessage ? ` ${response.statusMessage}` : '';
  const base = `${what} failed: HTTP ${status}${reason}${snippet ? `: ${snippet}` : ''}`;
  if (status >= 300 && status < 400) {
    const location = response.headers.location;
    return { status: 'failed', error: `${base} (redirect${location ? ` to ${String(location)}` : ''} not followed; set ship.url to the final address)` };
  }
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now);
    return retryAfterMs === undefined ? { status: 'retryable', error: base } : { status: 'retryable', error: base, retryAfterMs };
  }
  if (status === 401 || status === 403) return { status: 'failed', error: base, authRejected: true };
  return { status: 'failed', error: base };
}
