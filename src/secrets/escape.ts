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
