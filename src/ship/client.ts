/**
 * The ingress's other two endpoints, over the same auth, TLS and proxy as uploads (contract §9):
 * the connection test of `check --ship` (multipart with the one field `test` = `test`, no file; any 2xx is OK)
 * and `track` (`GET <trackUrl>/<id>`). Every text returned is safe to print: secrets masked, control characters
 * escaped. Answers are bounded like uploads (exchange.ts).
 */
import { escapeControlLine, redactSecrets } from '../secrets/index.js';
import { bodySnippet, classifyRequestError, requestIdOf } from './classify.js';
import { connectIngress } from './connection.js';
import { exchange, type Answer } from './exchange.js';
import type { ShipSettings } from './settings.js';
import { displayUrl } from './url.js';

/** The outcome of the connection test. */
export interface ConnectionTest {
  ok: boolean;
  /** The HTTP status, or null when no answer came (DNS, connection, TLS, timeout). */
  status: number | null;
  requestId: string | null;
  elapsedMs: number;
  /** One line a person can act on. */
  message: string;
}

/** What the ingress said about one upload. */
export interface TrackAnswer {
  id: string;
  /** True for a 200 with a JSON object. */
  ok: boolean;
  status: number | null;
  /** `status`, `status_msg` and `date` of the answer, as given (strings escaped), when present. */
  state: { status: string | null; statusMsg: string | null; date: string | null } | null;
  message: string;
}

export interface IngressClient {
  testConnection(signal?: AbortSignal): Promise<ConnectionTest>;
  track(requestId: string, signal?: AbortSignal): Promise<TrackAnswer>;
}

const safe = (text: string): string => escapeControlLine(redactSecrets(text));

/** A string field of a JSON object, escaped; null when absent. */
function field(body: Record<string, unknown>, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null) return null;
  return safe(typeof value === 'string' ? value : JSON.stringify(value));
}

function parseObject(body: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** "HTTP 404 Not Found: <first bytes>" for an answer with a status. */
function described(answer: Exclude<Answer, { kind: 'error' }>): string {
  const snippet = bodySnippet(answer.body);
  const reason = answer.statusMessage ? ` ${escapeControlLine(answer.statusMessage)}` : '';
  return `HTTP ${answer.status}${reason}${snippet ? `: ${snippet}` : ''}`;
}

/** A client for `settings`; `now` is the clock (token lifetimes, elapsed times). */
export function createIngressClient(settings: ShipSettings, now: () => number = Date.now): IngressClient {
  const { client, auth } = connectIngress(settings, now);

  async function send(method: 'GET' | 'POST', url: string, body: FormData | undefined, signal?: AbortSignal): Promise<Answer | { kind: 'auth'; message: string }> {
    const credentials = await auth.headers(signal);
    if (!credentials.ok) return { kind: 'auth', message: 'error' in credentials.result ? credentials.result.error : 'no credentials' };
    return exchange(client, { method, url, headers: { ...settings.headers, ...credentials.headers }, ...(body ? { body } : {}), timeoutMs: settings.timeoutMs, signal });
  }

  return {
    async testConnection(signal) {
      const started = now();
      const form = new FormData();
      form.append('test', 'test');
      const answer = await send('POST', settings.url, form, signal);
      const elapsedMs = now() - started;
      if (answer.kind === 'auth') return { ok: false, status: null, requestId: null, elapsedMs, message: safe(answer.message) };
      if (answer.kind === 'error') {
        const result = classifyRequestError(answer.error, settings.target);
        return { ok: false, status: null, requestId: null, elapsedMs, message: safe('error' in result ? result.error : 'no answer') };
      }
      const requestId = requestIdOf(answer.body) ?? null;
      const ok = answer.status >= 200 && answer.status < 300;
      const message = ok
        ? `${settings.target} answered ${answer.status}${requestId ? ` (request id ${safe(requestId)})` : ''} in ${elapsedMs} ms`
        : `${settings.target} answered ${described(answer)}`;
      return { ok, status: answer.status, requestId: requestId === null ? null : safe(requestId), elapsedMs, message: safe(message) };
    },

    async track(requestId, signal) {
      if (settings.trackUrl === null) {
        return { id: requestId, ok: false, status: null, state: null, message: 'no track URL: ship.url does not end in /upload; set ship.trackUrl' };
      }
      const url = `${settings.trackUrl.replace(/\/+$/, '')}/${encodeURIComponent(requestId)}`;
      const answer = await send('GET', url, undefined, signal);
      const id = safe(requestId);
      if (answer.kind === 'auth') return { id, ok: false, status: null, state: null, message: safe(answer.message) };
      if (answer.kind === 'error') {
        const result = classifyRequestError(answer.error, displayUrl(url));
        return { id, ok: false, status: null, state: null, message: safe('error' in result ? result.error : 'no answer') };
      }
      const body = answer.kind === 'complete' ? parseObject(answer.body) : null;
      const state = body ? { status: field(body, 'status'), statusMsg: field(body, 'status_msg'), date: field(body, 'date') } : null;
      const ok = answer.status === 200 && body !== null;
      const message = ok ? `${id}: ${state?.status ?? '(no status)'}${state?.statusMsg ? ` — ${state.statusMsg}` : ''}` : `${id}: ${displayUrl(url)} answered ${described(answer)}`;
      return { id, ok, status: answer.status, state, message: safe(message) };
    },
  };
}
