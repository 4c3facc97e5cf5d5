/**
 * Text from outside — an ingress's answer, a collector's error — may hold control characters that drive a
 * terminal: move the cursor, retitle the window, write the clipboard (OSC 52), hide what follows (contract §5).
 * Shown escaped, it reads the same and does nothing.
 */

/**
 * C0 controls but tab and line feed, DEL, C1 controls (U+0080–U+009F, `\u009b` is a one-character CSI), and the
 * bidirectional overrides and isolates that reorder what a reader sees.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (char: string): string => {
  const code = char.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** `text` with every control character written as an escape (`\x1b`, `\u009b`); tabs and line feeds stay. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** `escapeControl` for one line: line feeds and tabs are escaped too. */
export function escapeControlLine(text: string): string {
  return escapeControl(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

/** The characters `escapeControl` escapes that JSON.stringify leaves raw (C1 controls, bidi marks). */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A JSON text with every raw control character JSON allows (C1, DEL, bidi marks) written as a `\u00XX` escape:
 * the same value, and no raw control byte on a terminal that shows the line.
 */
export function escapeRawInJson(json: string): string {
  return json.replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A JSON escape of a control character (after an odd number of backslashes): `\u001b`, `\r`, `\u009b`… */
const JSON_CONTROL = /(\\+)(u00(?:0[0-8b-fB-F]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F])|u061[cC]|u200[eEfF]|u202[a-eA-E]|u206[6-9]|[rbf])/g;
const SHORT: Record<string, number> = { r: 0x0d, b: 0x08, f: 0x0c };

/**
 * A JSON text whose string values, once unescaped by a reader that prints them (a log prettifier), show their
 * control characters as text (`\x1b`) instead of emitting them. The JSON stays valid; only those values change.
 */
export function escapeControlInJson(json: string): string {
  return escapeRawInJson(json).replace(JSON_CONTROL, (match, slashes: string, escape: string) => {
    if (slashes.length % 2 === 0) return match; // an escaped backslash followed by letters: not an escape
    const code = escape.length === 1 ? SHORT[escape]! : parseInt(escape.slice(1), 16);
    const shown = code < 0x80 ? `x${code.toString(16).padStart(2, '0')}` : `u${code.toString(16).padStart(4, '0')}`;
    return `${slashes}\\${shown}`;
  });
}

/**
 * Raw C1 controls (U+0080–U+009F; `\u009b` alone starts a terminal control sequence) as `\u00XX` text: the
 * output boundary applies this to every text write, since nothing we print means to use them — and in a JSON
 * document the result is the same value, escaped.
 */
export function escapeC1(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
