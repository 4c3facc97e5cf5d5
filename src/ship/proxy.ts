/**
 * Which proxy a request goes through (contract §5): `ship.proxy` when set, else `HTTPS_PROXY`/`HTTP_PROXY`
 * (or their lower-case forms) chosen by the target URL's scheme, unless `NO_PROXY` names the host.
 * Choosing is pure; building the agents is a separate step.
 */
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';

/** The value of the first of `names` set (non-empty) in `env`. */
function envValue(env: NodeJS.ProcessEnv, names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}

const defaultPort = (protocol: string): string => (protocol === 'https:' ? '443' : '80');

/** Strips the brackets URL gives IPv6 hosts: `[::1]` → `::1`. */
const bareHost = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/**
 * True when `NO_PROXY` excludes the target. Entries are separated by commas or spaces; `*` matches every host;
 * `example.com` and `.example.com` match that domain and its subdomains; `10.0.0.0/8` matches addresses in
 * that range; an entry may end in `:port`.
 */
export function isNoProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = bareHost(target.hostname);
  const port = target.port || defaultPort(target.protocol);
  const hostIp = isIP(host);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (withPort) {
      entry = withPort[1]!;
      entryPort = withPort[2];
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    entry = bareHost(entry);
    const cidr = /^([^/]+)\/(\d+)$/.exec(entry);
    if (cidr && hostIp !== 0) {
      const family = isIP(cidr[1]!);
      if (family !== hostIp) continue;
      const list = new BlockList();
      list.addSubnet(cidr[1]!, Number(cidr[2]), family === 6 ? 'ipv6' : 'ipv4');
      if (list.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
      continue;
    }
    const domain = entry.replace(/^\*?\./, '');
    if (host === domain || (hostIp === 0 && host.endsWith(`.${domain}`))) return true;
  }
  return false;
}

/**
 * The proxy URL to use for `targetUrl`, or null for a direct connection. `NO_PROXY` applies to proxies taken
 * from the environment only: a `ship.proxy` set in the configuration is a deliberate choice and always used.
 */
export function proxyFor(targetUrl: string, configured: string | undefined, env: NodeJS.ProcessEnv): string | null {
  if (configured) return configured;
  const target = new URL(targetUrl);
  const fromEnv =
    target.protocol === 'https:'
      ? envValue(env, ['HTTPS_PROXY', 'https_proxy'])
      : envValue(env, ['HTTP_PROXY', 'http_proxy']);
  if (!fromEnv) return null;
  if (isNoProxy(target, envValue(env, ['NO_PROXY', 'no_proxy']))) return null;
  return fromEnv;
}

/** A proxy URL fit for logs: scheme, host and port, never the credentials. */
export function describeProxy(proxyUrl: string): string {
  try {
    const url = new URL(proxyUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparseable proxy URL)';
  }
}

/** Agents for got's `agent` option. */
export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

/**
 * Agents for one target: tunnelling through `proxyUrl` (HTTP CONNECT, credentials from the URL) or direct.
 * `proxyCa` is the CA list used to verify an `https://` proxy itself. Keep-alive is off: a run sends a handful
 * of large uploads, and idle sockets would only outlive the run.
 */
export function createAgents(proxyUrl: string | null, proxyCa?: string[]): Agents {
  if (!proxyUrl) return { http: new http.Agent({ keepAlive: false }), https: new https.Agent({ keepAlive: false }) };
  const proxyRequestOptions = proxyCa ? { ca: proxyCa } : {};
  return {
    http: new HttpProxyAgent({ proxy: proxyUrl, keepAlive: false, proxyRequestOptions }),
    https: new HttpsProxyAgent({ proxy: proxyUrl, keepAlive: false, proxyRequestOptions }),
  };
}
