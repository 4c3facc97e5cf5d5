/**
 * Turning what the HTTP stack says into a ShipResult, so nothing past the ship stage reads status codes
 * (contract §5): a 2xx with a `request_id` is accepted; a 2xx that broke off is accepted with a warning and never
 * retried; a complete 2xx without one is a final failure (unless `ship.requireRequestId` is false); 408, 429,
 * 5xx and connection trouble are retryable; everything else is final.
 */
import { escapeControlLine } from '../secrets/index.js';
import type { ShipResult } from '../types.js';
import type { Answer } from './exchange.js';

/** How many bytes of a response body go into a failure message. */
export const BODY_SNIPPET_BYTES = 200;

/** The first bytes of a body (at most 200), on one line, control characters escaped, for messages. */
export function bodySnippet(body: string | Buffer | undefined): string {
  if (body === undefined) return '';
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const text = buf.subarray(0, BODY_SNIPPET_BYTES).toString('utf8').replace(/\uFFFD+$/, '');
  const oneLine = escapeControlLine(text.replace(/[ \t\r\n]+/g, ' ').trim());
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
 * Classifies an exchange that got no answer. `target` names the endpoint (`https://host/path`). The message
 * uses the error's own text: callers redact it before it leaves the stage.
 */
export function classifyRequestError(err: unknown, target: string): ShipResult {
  const e = (err ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message.replace(/\s*\n\s*/g, ' ').trim() : String(err);
  const code = errorCode(err);
  if (e.name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return { status: 'retryable', error: `timed out talking to ${target}: ${message}` };
  }
  // hpagent reports a proxy that refuses the CONNECT as `Bad response: <status>`.
  const proxyStatus = /Bad response: (\d{3})/.exec(message);
  if (proxyStatus) {
    const status = Number(proxyStatus[1]);
    const text = `the proxy answered ${status} to CONNECT for ${target}`;
    return isRetryableStatus(status) ? { status: 'retryable', error: text } : { status: 'failed', error: `${text}${status === 407 ? ' (check the proxy credentials)' : ''}` };
  }
  if (code === 'ENOTFOUND') return { status: 'failed', error: `cannot reach ${target}: host not found (${message})` };
  if (code !== undefined && isTlsVerificationCode(code)) {
    return { status: 'failed', error: `cannot reach ${target}: TLS error ${code} (${message}); check ship.caFile and the server certificate` };
  }
  if (code === 'EPROTO' || /alert (handshake failure|certificate required|bad certificate)/.test(message)) {
    return { status: 'failed', error: `cannot reach ${target}: TLS error: the server refused the handshake (${message}); with auth "mtls" check ship.certFile and ship.keyFile` };
  }
  if (code !== undefined && RETRYABLE_CODES.has(code)) {
    return { status: 'retryable', error: `cannot reach ${target}: ${code} (${message})` };
  }
  return { status: 'failed', error: `cannot reach ${target}: ${message}` };
}

/** The `request_id` of a JSON object body, or undefined. */
export function requestIdOf(body: Buffer | string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'request_id' in parsed) {
      const id = parsed.request_id;
      if ((typeof id === 'string' && id !== '') || typeof id === 'number') return String(id);
    }
  } catch {
    // not JSON: no request id
  }
  return undefined;
}

/** What the caller does with an answer; `warning` is logged for an accepted upload whose answer broke off. */
export type Classified = ShipResult & { warning?: string };

export interface ClassifyOptions {
  /** Names the endpoint in messages: `https://host/path`. */
  target: string;
  requireRequestId: boolean;
  /** For Retry-After dates. */
  now: number;
}

/** The message of a non-2xx answer: status, reason, the body's first bytes. */
function statusMessage(answer: Extract<Answer, { status: number }>, target: string): string {
  const snippet = bodySnippet(answer.body);
  const reason = answer.statusMessage ? ` ${escapeControlLine(answer.statusMessage)}` : '';
  return `HTTP ${answer.status}${reason} from ${target}${snippet ? `: ${snippet}` : ''}`;
}

/** Classifies the answer to an upload. */
export function classifyAnswer(answer: Answer, options: ClassifyOptions): Classified {
  if (answer.kind === 'error') return classifyRequestError(answer.error, options.target);
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const requestId = requestIdOf(answer.body);
    if (answer.kind === 'broken') {
      // The ingress has the upload: a retry would only send it again.
      const warning = `the ingress answered ${status} (accepted) but its answer broke off: ${answer.reason}; not retried${requestId ? '' : ', no request id'}`;
      return requestId === undefined ? { status: 'sent', warning } : { status: 'sent', requestId, warning };
    }
    if (requestId !== undefined) return { status: 'sent', requestId };
    if (!options.requireRequestId) return { status: 'sent' };
    const snippet = bodySnippet(answer.body);
    return {
      status: 'failed',
      error: `the ingress answered ${status} but gave no request id: is ship.url the upload endpoint? (${options.target}${snippet ? `: ${snippet}` : ''}; set ship.requireRequestId to false if this ingress never sends one)`,
    };
  }
  const base = statusMessage(answer, options.target);
  if (status >= 300 && status < 400) {
    const location = answer.headers.location;
    const to = location ? ` to ${escapeControlLine(displayLocation(String(location)))}` : '';
    return { status: 'failed', error: `${base} (redirect${to} not followed; set ship.url to the final address)` };
  }
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], options.now);
    return retryAfterMs === undefined ? { status: 'retryable', error: base } : { status: 'retryable', error: base, retryAfterMs };
  }
  if (status === 401 || status === 403) return { status: 'failed', error: base, authRejected: true };
  return { status: 'failed', error: base };
}

/** A redirect target fit for messages: no credentials, no query string. */
function displayLocation(location: string): string {
  try {
    const url = new URL(location);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return location.slice(0, 100);
  }
}
