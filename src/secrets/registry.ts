/**
 * The process's one set of secrets and the one redactor over it (contract §5). Secrets are registered once —
 * from the environment when the CLI starts, from the configuration once it is read, and as the run learns them
 * (access tokens) — and every encoded form of each is derived here, so no caller has to remember any.
 */
import { secretPatterns, type SecretPattern } from './encodings.js';

/** What a secret is replaced with, in every form. */
export const MASK = '***';

/**
 * Secrets shorter than this are not searched for in free text: masking every "ab" would make every message
 * unreadable while hiding next to nothing. Their structural occurrences (URL userinfo, Authorization-like
 * headers) are still masked, whatever their length.
 */
export const MIN_SECRET_LENGTH = 4;

const secrets = new Set<string>();
/** Compiled matchers, rebuilt lazily after a registration. */
let compiled: { text: RegExp; bytes: RegExp } | null = null;

function compile(): { text: RegExp; bytes: RegExp } {
  const patterns: SecretPattern[] = [];
  for (const secret of secrets) patterns.push(...secretPatterns(secret));
  patterns.sort((a, b) => b.weight - a.weight);
  const join = (pick: (p: SecretPattern) => string): RegExp =>
    patterns.length === 0 ? /(?!)/g : new RegExp([...new Set(patterns.map(pick))].join('|'), 'g');
  // Bytes are searched as latin1 text, one character per byte, so every byte not replaced stays as it was.
  return { text: join((p) => p.text), bytes: join((p) => p.bytes) };
}

const matchers = (): { text: RegExp; bytes: RegExp } => (compiled ??= compile());

/** Adds a secret (and with it all its forms). Empty and very short values are ignored (see MIN_SECRET_LENGTH). */
export function registerSecret(value: string | null | undefined): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  compiled = null;
}

/** How many secrets are registered (for `check` and tests). */
export const secretCount = (): number => secrets.size;

/** Forgets every secret. For tests only: a process's secrets are never unregistered. */
export function clearSecrets(): void {
  secrets.clear();
  compiled = null;
}

/** Credentials in a URL (`scheme://user:password@`): the password goes, whatever it is. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*):([^\s/@'"]+)@/gi;
/** A header that carries a credential, in a log line, a JSON dump or an echoed request. */
// The value stops at a backslash too: inside a JSON string (`--json`), `\"` closes it, and eating the backslash
// would break the document.
const CREDENTIAL_HEADER = /((?:proxy-)?authorization|x-rh-identity)(\\?["']?\s*[:=]\s*\\?["']?)(?:(basic|bearer)\s+)?[^\s"'\\,;}]+/gi;

/** Replaces every registered secret, in any of its forms, and credentials in URLs and headers, with `***`. */
export function redactSecrets(text: string): string {
  const { text: pattern } = matchers();
  return text
    .replace(pattern, MASK)
    .replace(URL_USERINFO, `$1:${MASK}@`)
    .replace(CREDENTIAL_HEADER, (_m, name: string, sep: string, scheme?: string) => `${name}${sep}${scheme ? `${scheme} ` : ''}${MASK}`);
}

/**
 * The same for bytes (what a stream is handed): every registered secret's forms, matched byte for byte; bytes
 * that match nothing are returned untouched, so binary output (`inspect --cat`) passes through intact.
 * Returns the same buffer when nothing matched.
 */
export function redactBytes(bytes: Uint8Array): Uint8Array {
  if (secrets.size === 0) return bytes;
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = buffer.toString('latin1');
  const { bytes: pattern } = matchers();
  pattern.lastIndex = 0;
  if (!pattern.test(latin1)) return bytes;
  return Buffer.from(latin1.replace(pattern, MASK), 'latin1');
}
