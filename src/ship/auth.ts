/**
 * Credentials for an upload (contract §5). Every mode reduces to "headers to add"; service-account needs an
 * OAuth2 client-credentials token, fetched once per run and reused until it expires, and fetched again once
 * after the ingress answers 401. mtls needs no header: its certificate rides in the TLS options (http.ts).
 */
import type { Got } from 'got';
import type { ShipConfig } from '../config/types.js';
import { registerSecret } from '../secrets/index.js';
import type { ShipResult } from '../types.js';
import { bodySnippet, classifyRequestError, isRetryableStatus, parseRetryAfter } from './classify.js';
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
  /** Secrets learned while running (access tokens), for redaction. */
  runtimeSecrets(): string[];
}

/** A token is renewed this long before it expires, so it does not lapse while a large upload is under way. */
const EXPIRY_MARGIN_MS = 60_000;

interface CachedToken {
  value: string;
  /** Epoch ms after which it is fetched again; Infinity when the server gave no lifetime. */
  renewAt: number;
}

interface TokenSourceOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** A got instance already carrying the agents, CA and timeouts (and with retries and redirects off). */
  client: Got;
  now: () => number;
}

function renewAt(expiresIn: unknown, now: number): number {
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return Infinity;
  const lifetime = seconds * 1000;
  // Short-lived tokens keep at least half their life; long-lived ones are renewed a minute early.
  return now + lifetime - Math.min(EXPIRY_MARGIN_MS, lifetime / 2);
}

/** OAuth2 client credentials: one token per run, shared by concurrent uploads, renewed when it expires. */
function createTokenSource(options: TokenSourceOptions) {
  let cached: CachedToken | null = null;
  let pending: Promise<AuthHeaders> | null = null;
  const issued: string[] = [];
  const what = `token request to ${displayUrl(options.tokenUrl)}`;

  async function fetchToken(signal?: AbortSignal): Promise<AuthHeaders> {
    const form: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: options.clientSecret,
    };
    if (options.scope) form.scope = options.scope;
    let response;
    try {
      response = await options.client.post(options.tokenUrl, {
        form,
        headers: { accept: 'application/json' },
        responseType: 'text',
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      return { ok: false, result: classifyRequestError(err, what) };
    }
    const status = response.statusCode;
    if (status < 200 || status >= 300) {
      const snippet = bodySnippet(response.body);
      const error = `${what} failed: HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
      if (isRetryableStatus(status)) {
        // The token endpoint's Retry-After counts as the ingress's would: it is the same retry rule.
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], options.now());
        return { ok: false, result: retryAfterMs === undefined ? { status: 'retryable', error } : { status: 'retryable', error, retryAfterMs } };
      }
      const rejected = status === 400 || status === 401 || status === 403;
      return {
        ok: false,
        result: rejected
          ? { status: 'failed', error: `${error} (check ship.clientId and ship.clientSecret)`, authRejected: true }
          : { status: 'failed', error },
      };
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(response.body) as typeof body;
    } catch {
      return { ok: false, result: { status: 'failed', error: `${what} answered ${status} without a JSON body` } };
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      return { ok: false, result: { status: 'failed', error: `${what} answered ${status} without an access_token` } };
    }
    cached = { value: body.access_token, renewAt: renewAt(body.expires_in, options.now()) };
    issued.push(body.access_token);
    registerSecret(body.access_token);
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
    runtimeSecrets: () => [...issued],
  } satisfies Auth;
}

const fixed = (headers: Record<string, string>): Auth => ({
  headers: () => Promise.resolve({ ok: true, headers }),
  invalidate: () => false,
  runtimeSecrets: () => [],
});

/**
 * The Auth for `config.auth`. `client` is used for token requests only. Missing credentials are not checked
 * here: `shippingProblem()` stops the run before this is built.
 */
export function createAuth(config: ShipConfig, client: Got, now: () => number = Date.now): Auth {
  switch (config.auth) {
    case 'basic': {
      const pair = Buffer.from(`${config.username ?? ''}:${config.password ?? ''}`).toString('base64');
      return fixed({ authorization: `Basic ${pair}` });
    }
    case 'bearer':
      return fixed({ authorization: `Bearer ${config.token ?? ''}` });
    case 'identity':
      return fixed({ 'x-rh-identity': config.identity ?? '' });
    case 'service-account':
      return createTokenSource({
        tokenUrl: config.tokenUrl ?? '',
        clientId: config.clientId ?? '',
        clientSecret: config.clientSecret ?? '',
        scope: config.scope,
        client,
        now,
      });
    case 'mtls':
    case 'none':
      return fixed({});
  }
}
