/**
 * Credentials for an upload (contract §5). Every mode reduces to "headers to add"; service-account needs an
 * OAuth2 client-credentials token, fetched once per run and reused until it expires, and fetched again once
 * after the ingress answers 401. mtls needs no header: its certificate rides in the TLS options (http.ts).
 */
import type { Got } from 'got';
import { registerSecret } from '../secrets/index.js';
import type { ShipResult } from '../types.js';
import { bodySnippet, classifyRequestError, isRetryableStatus, parseRetryAfter } from './classify.js';
import { exchange } from './exchange.js';
import type { ShipAuth } from './settings.js';
import { displayUrl } from './url.js';

/** Headers to send, or why there are none (a ShipResult that is not `sent`). */
export type AuthHeaders = { ok: true; headers: Record<string, string> } | { ok: false; result: ShipResult };

export interface Auth {
  /** The headers for the next request; may fetch a token. */
  headers(signal?: AbortSignal): Promise<AuthHeaders>;
  /**
   * Called after a 401: drops a cached token. True when asking again could help (a fresh token), false when
   * the credentials are fixed and the 401 is final.
   */
  invalidate(): boolean;
}

/** A token is renewed this long before it expires, so it does not lapse while a large upload is under way. */
const EXPIRY_MARGIN_MS = 60_000;

interface CachedToken {
  value: string;
  /** Epoch ms after which it is fetched again; Infinity when the server gave no lifetime. */
  renewAt: number;
}

type ServiceAccount = Extract<ShipAuth, { mode: 'service-account' }>;

interface TokenSourceOptions {
  account: ServiceAccount;
  /** A got instance already carrying the agents and CA (with retries and redirects off). */
  client: Got;
  timeoutMs: number;
  now: () => number;
}

function renewAt(expiresIn: unknown, now: number): number {
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return Infinity;
  const lifetime = seconds * 1000;
  // Short-lived tokens keep at least half their life; long-lived ones are renewed a minute early.
  return now + lifetime - Math.min(EXPIRY_MARGIN_MS, lifetime / 2);
}

/** What a non-2xx token answer means for the upload. */
function tokenFailure(status: number, body: Buffer, retryAfter: string | string[] | undefined, target: string, now: number): ShipResult {
  const snippet = bodySnippet(body);
  const error = `the token endpoint ${target} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
  if (isRetryableStatus(status)) {
    // The token endpoint's Retry-After counts as the ingress's would: it is the same retry rule.
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return retryAfterMs === undefined ? { status: 'retryable', error } : { status: 'retryable', error, retryAfterMs };
  }
  if (status === 400 || status === 401 || status === 403) {
    return { status: 'failed', error: `${error} (check ship.clientId and ship.clientSecret)`, authRejected: true };
  }
  return { status: 'failed', error };
}

/** A JSON object body, or null. */
function parseObject(body: Buffer): { access_token?: unknown; expires_in?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** OAuth2 client credentials: one token per run, shared by concurrent uploads, renewed when it expires. */
function createTokenSource(options: TokenSourceOptions): Auth {
  const { account } = options;
  let cached: CachedToken | null = null;
  let pending: Promise<AuthHeaders> | null = null;
  const target = displayUrl(account.tokenUrl);

  async function fetchToken(signal?: AbortSignal): Promise<AuthHeaders> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: account.clientId, client_secret: account.clientSecret });
    if (account.scope) form.set('scope', account.scope);
    const answer = await exchange(options.client, {
      method: 'POST',
      url: account.tokenUrl,
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      timeoutMs: options.timeoutMs,
      signal,
    });
    if (answer.kind === 'error') return { ok: false, result: classifyRequestError(answer.error, `the token endpoint ${target}`) };
    const { status } = answer;
    if (status < 200 || status >= 300) return { ok: false, result: tokenFailure(status, answer.body, answer.headers['retry-after'], target, options.now()) };
    const body = answer.kind === 'complete' ? parseObject(answer.body) : null;
    if (body === null) {
      const why = answer.kind === 'broken' ? `an answer that broke off (${answer.reason})` : 'no JSON body';
      // A token answer that broke off may come whole next time; a page that is not JSON will not.
      const error = `the token endpoint ${target} answered ${status} with ${why}`;
      return { ok: false, result: { status: answer.kind === 'broken' ? 'retryable' : 'failed', error } };
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      return { ok: false, result: { status: 'failed', error: `the token endpoint ${target} answered ${status} without an access_token` } };
    }
    registerSecret(body.access_token);
    cached = { value: body.access_token, renewAt: renewAt(body.expires_in, options.now()) };
    return { ok: true, headers: { authorization: `Bearer ${body.access_token}` } };
  }

  return {
    headers(signal?: AbortSignal): Promise<AuthHeaders> {
      if (cached && options.now() < cached.renewAt) {
        return Promise.resolve({ ok: true, headers: { authorization: `Bearer ${cached.value}` } });
      }
      pending ??= fetchToken(signal).finally(() => {
        pending = null;
      });
      return pending;
    },
    invalidate(): boolean {
      cached = null;
      return true;
    },
  };
}

const fixed = (headers: Record<string, string>): Auth => ({
  headers: () => Promise.resolve({ ok: true, headers }),
  invalidate: () => false,
});

/** The Auth for the settings' mode. `client` is used for token requests only. */
export function createAuth(auth: ShipAuth, client: Got, timeoutMs: number, now: () => number = Date.now): Auth {
  switch (auth.mode) {
    case 'basic':
      return fixed({ authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` });
    case 'bearer':
      return fixed({ authorization: `Bearer ${auth.token}` });
    case 'identity':
      return fixed({ 'x-rh-identity': auth.identity });
    case 'service-account':
      return createTokenSource({ account: auth, client, timeoutMs, now });
    case 'mtls':
    case 'none':
      return fixed({});
  }
}
