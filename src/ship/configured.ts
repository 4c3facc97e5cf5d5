/**
 * Is shipping possible, and is what was configured safe to use? Two questions with two answers: a missing piece
 * means "not configured" (exit 4), a wrong or unsafe value is a configuration error (exit 2).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { createSecureContext } from 'node:tls';
import type { AuthMode, ShipConfig } from '../config/types.js';
import { messageOf } from '../errors.js';
import { mayCarryCredentials, parseHttpUrl } from './url.js';

/** Auth modes that put a credential into the request (and so need https or a loopback host). */
export const CREDENTIAL_MODES: ReadonlySet<AuthMode> = new Set(['basic', 'service-account', 'bearer', 'identity']);

type CredentialKey = 'username' | 'password' | 'clientId' | 'clientSecret' | 'tokenUrl' | 'token' | 'identity' | 'certFile' | 'keyFile';

/** What each auth mode needs, and the environment variable that can supply it. */
const REQUIRED: Record<AuthMode, [CredentialKey, string | null][]> = {
  none: [],
  basic: [
    ['username', 'ANALYTICS_USERNAME'],
    ['password', 'ANALYTICS_PASSWORD'],
  ],
  'service-account': [
    ['clientId', 'ANALYTICS_CLIENT_ID'],
    ['clientSecret', 'ANALYTICS_CLIENT_SECRET'],
    ['tokenUrl', null],
  ],
  bearer: [['token', 'ANALYTICS_TOKEN']],
  identity: [['identity', 'ANALYTICS_IDENTITY']],
  mtls: [
    ['certFile', null],
    ['keyFile', null],
  ],
};

const isSet = (value: string | undefined): boolean => typeof value === 'string' && value.trim() !== '';

/**
 * Null when `url` and `contentType` are set and the chosen auth's credentials are present; otherwise a one-line
 * reason naming what is missing and where to set it (the caller exits 4). A packager's `isShippingConfigured()`
 * replaces this check when it exists.
 */
export function shippingProblem(config: ShipConfig): string | null {
  const missing: string[] = [];
  if (!isSet(config.url)) missing.push('ship.url');
  if (!isSet(config.contentType)) missing.push('ship.contentType');
  for (const [key, envName] of REQUIRED[config.auth] ?? []) {
    if (!isSet(config[key])) missing.push(envName ? `ship.${key} (or ${envName})` : `ship.${key}`);
  }
  if (missing.length === 0) return null;
  const auth = config.auth === 'none' ? '' : ` for ship.auth "${config.auth}"`;
  return `shipping is not configured${auth}: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set; set ${missing.length === 1 ? 'it' : 'them'} in the configuration file or the environment`;
}

function checkUrl(key: string, value: string | undefined, problems: string[]): URL | null {
  if (value === undefined) return null;
  const url = parseHttpUrl(value);
  if (!url) {
    problems.push(`ship.${key}: not an http:// or https:// URL; give a full URL such as https://host/path`);
    return null;
  }
  if (key !== 'proxy' && (url.username || url.password)) {
    problems.push(`ship.${key}: credentials in the URL are not allowed; use ship.auth with its own keys or ANALYTICS_* variables`);
  }
  return url;
}

function checkPem(key: 'certFile' | 'keyFile' | 'caFile', path: string | undefined, problems: string[]): string | null {
  if (path === undefined) return null;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? messageOf(err);
    problems.push(`ship.${key}: cannot read ${path} (${code}); give a readable PEM file`);
    return null;
  }
}

/**
 * Every problem with a ship configuration that makes shipping unsafe or impossible, each one line naming the
 * key and the fix; `[]` when none. Meant for runs that ship: a dry run needs none of this. Reads the PEM files
 * it names (to load them once, as TLS would). `where` (e.g. `in /etc/analytics.config.json`) is appended.
 */
export function validateShipConfig(config: ShipConfig, where?: string): string[] {
  const problems: string[] = [];
  const url = checkUrl('url', config.url, problems);
  const tokenUrl = checkUrl('tokenUrl', config.tokenUrl, problems);
  checkUrl('proxy', config.proxy, problems);

  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (name.toLowerCase() === 'authorization') {
      problems.push(`ship.headers: an Authorization header is not allowed; choose ship.auth (basic, bearer, service-account) instead`);
      continue;
    }
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      problems.push(`ship.headers: "${name}" is not a valid HTTP header name and value; remove it or fix it`);
    }
  }

  if (CREDENTIAL_MODES.has(config.auth)) {
    if (url && !mayCarryCredentials(url)) {
      problems.push(
        `ship.url: ship.auth "${config.auth}" sends credentials, which travel only over https (or plain http to a loopback address); use an https:// URL`,
      );
    }
    if (config.auth === 'service-account' && tokenUrl && !mayCarryCredentials(tokenUrl)) {
      problems.push(
        'ship.tokenUrl: client credentials travel only over https (or plain http to a loopback address); use an https:// URL',
      );
    }
  }

  const ca = checkPem('caFile', config.caFile, problems);
  if (config.auth === 'mtls') {
    if (url && url.protocol !== 'https:') problems.push('ship.url: ship.auth "mtls" needs an https:// URL');
    const cert = checkPem('certFile', config.certFile, problems);
    const key = checkPem('keyFile', config.keyFile, problems);
    if (cert !== null && key !== null) {
      try {
        createSecureContext({ cert, key });
      } catch (err) {
        problems.push(`ship.certFile/ship.keyFile: cannot use ${config.certFile} with ${config.keyFile} (${messageOf(err)}); give a matching PEM certificate and key`);
      }
    }
  }
  if (ca !== null) {
    try {
      // TLS silently ignores a CA file without certificates; parse it to catch that.
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate found');
      new X509Certificate(ca);
    } catch (err) {
      problems.push(`ship.caFile: ${config.caFile} holds no usable CA certificate (${messageOf(err)}); give a PEM file`);
    }
  }
  return where ? problems.map((p) => `${p} (${where})`) : problems;
}
