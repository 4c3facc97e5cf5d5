/** Small URL facts the ship stage needs in several places. */

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 — hosts whose traffic never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '::1' ||
    host === '0:0:0:0:0:0:0:1'
  );
}

/** Parses `value` as an http(s) URL, or returns null. */
export function parseHttpUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** True when a request to `url` may carry credentials: https, or plain http to a loopback address. */
export function mayCarryCredentials(url: URL): boolean {
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}

/** A URL fit for messages: no credentials, no query string (tokens sometimes ride there). */
export function displayUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * True for the reserved example domains of RFC 2606/6761 — `example.com`, `example.net`, `example.org` and
 * their subdomains, and `*.example`, `*.test`, `*.invalid` — the placeholders of starter configs, never a real
 * ingress.
 */
export function isPlaceholderHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (/(^|\.)example\.(com|net|org)$/.test(host)) return true;
  return /(^|\.)(example|test|invalid)$/.test(host);
}
