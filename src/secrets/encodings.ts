/**
 * The forms a secret takes once something has encoded it: a URL or an HTML form body (percent-encoding in any
 * dialect, `+` for a space), a header (base64, as Basic auth sends `user:password`), a JSON document (escaped
 * once, or twice when a JSON text is quoted inside another), an HTML page. Pure: a secret in, patterns out.
 */

/** One way to find a secret: a regular-expression source over text, and one over bytes read as latin1. */
export interface SecretPattern {
  text: string;
  bytes: string;
  /** Longer patterns are tried first, so a secret containing another is masked whole. */
  weight: number;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Text as one character per UTF-8 byte: how the byte matcher sees it. */
const asLatin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

const literal = (form: string): SecretPattern => ({ text: escapeRegExp(form), bytes: escapeRegExp(asLatin1(form)), weight: form.length });

/** `%2f` or `%2F`. */
const percentByte = (byte: number): string => {
  const hex = byte.toString(16).padStart(2, '0');
  return `%${[...hex].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('')}`;
};

/**
 * One pattern for the secret as is and percent-encoded in any dialect at once: every character other than a
 * letter or digit may appear as itself or as its `%XX` bytes (hex in either case), a space also as `+`. This
 * covers encodeURIComponent, RFC 3986 (`!'()*` escaped), WHATWG forms (`~` escaped too) and lower-case hex.
 */
function percentPattern(secret: string): SecretPattern {
  const parts = (asText: (char: string) => string): string =>
    [...secret]
      .map((char) => {
        if (/[A-Za-z0-9]/.test(char)) return char;
        const encoded = [...Buffer.from(char, 'utf8')].map(percentByte).join('');
        const space = char === ' ' ? '|\\+' : '';
        return `(?:${asText(char)}|${encoded}${space})`;
      })
      .join('');
  return { text: parts(escapeRegExp), bytes: parts((char) => escapeRegExp(asLatin1(char))), weight: secret.length };
}

/**
 * The base64 text that encodes `bytes` when they start at byte `offset` (0, 1 or 2) of a longer encoded
 * buffer, trimmed to the characters that depend on these bytes only: a secret inside any base64 blob
 * (`user:password` of Basic auth, a document encoded whole) shows one of these three.
 */
function base64Core(bytes: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
  return encoded.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
}

/** Secrets this long or longer are also searched for inside larger base64 texts, at every byte alignment. */
const ALIGNED_BASE64_MIN = 8;

function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const whole = bytes.toString('base64');
  const offsets = bytes.length >= ALIGNED_BASE64_MIN ? [0, 1, 2] : [0];
  const standard = [whole, ...offsets.map((offset) => base64Core(bytes, offset))];
  return [...standard, ...standard.map((form) => form.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''))];
}

const jsonEscape = (text: string): string => JSON.stringify(text).slice(1, -1);

const htmlEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/**
 * Every pattern that finds `secret`: as is or percent-encoded in any dialect (one pattern), JSON-escaped (once
 * and twice), HTML-escaped, and base64 (standard and URL-safe, whole and at any alignment inside a longer text).
 */
export function secretPatterns(secret: string): SecretPattern[] {
  const literals = new Set([jsonEscape(secret), jsonEscape(jsonEscape(secret)), htmlEscape(secret), ...base64Forms(secret)]);
  literals.delete(secret);
  return [percentPattern(secret), ...[...literals].filter((form) => form.length > 0).map(literal)];
}
