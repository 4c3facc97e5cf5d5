/**
 * What every request to the ingress shares: a got instance per proxy choice (TLS always verified, the CA and
 * client certificate of the settings, no retries, no redirects, no thrown HTTP errors) and the credentials of
 * the auth mode. Used by the uploader, the connection test of `check --ship` and `track`.
 */
import got, { type Got } from 'got';
import { createAuth, type Auth } from './auth.js';
import { createAgents } from './proxy.js';
import type { ShipSettings, ShipTls } from './settings.js';

function clientFor(proxy: string | null, tls: ShipTls, userAgent: string | undefined): Got {
  return got.extend({
    agent: createAgents(proxy, tls.ca ?? undefined),
    https: {
      rejectUnauthorized: true,
      ...(tls.ca ? { certificateAuthority: tls.ca } : {}),
      ...(tls.cert && tls.key ? { certificate: tls.cert, key: tls.key } : {}),
    },
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    ...(userAgent ? { headers: { 'user-agent': userAgent } } : {}),
  });
}

export interface IngressConnection {
  /** For requests to `settings.url` (and URLs beside it, such as the track URL). */
  client: Got;
  auth: Auth;
}

/** The client and the credentials for `settings`. `now` is the clock for token lifetimes. */
export function connectIngress(settings: ShipSettings, now: () => number = Date.now): IngressConnection {
  const userAgent = settings.headers['user-agent'];
  const client = clientFor(settings.proxy, settings.tls, userAgent);
  const tokenClient = settings.auth.mode === 'service-account' ? clientFor(settings.auth.tokenProxy, settings.tls, userAgent) : client;
  return { client, auth: createAuth(settings.auth, tokenClient, settings.timeoutMs, now) };
}
