/**
 * What went wrong in collector code, and where: a one-line description of anything thrown (an `Error`, a string,
 * `Object.create(null)`…) and the file:line of the collector's own source, read from the stack (TypeScript lines
 * through the inline source maps of the module hooks).
 */
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeControlLine } from '../secrets/escape.js';
import { FORCE_ESM_MARKER } from './hooks.js';

const MAX_DESCRIPTION = 300;

/** One line for anything thrown or rejected with; never throws itself (a null-prototype object has no toString). */
export function describeThrown(value: unknown): string {
  let text: string;
  try {
    text = describeUnsafe(value);
  } catch {
    text = `a ${typeof value} that cannot be shown`;
  }
  // Collector text from outside the tool: control characters shown escaped, never handed to a terminal (§5).
  const line = escapeControlLine(text.replace(/\s*\n\s*/g, ' ').trim());
  return line.length > MAX_DESCRIPTION ? `${line.slice(0, MAX_DESCRIPTION)}…` : line;
}

function describeUnsafe(value: unknown): string {
  if (value instanceof Error) {
    const message = typeof value.message === 'string' ? value.message : '';
    return message !== '' ? message : `${value.name || 'Error'} without a message`;
  }
  if (typeof value === 'string') return value === '' ? 'an empty string' : value;
  if (value === null || value === undefined || typeof value !== 'object') {
    return typeof value === 'function' ? 'a function' : `${String(value)}`;
  }
  const message = (value as { message?: unknown }).message;
  if (typeof message === 'string' && message !== '') return message;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const tag = Object.prototype.toString.call(value);
  return json === undefined ? `${tag}, not an Error` : `${json}, not an Error`;
}

/** True for a stack frame location in a user module (a collector, packager or one of their helpers). */
function isUserLocation(path: string, ownRoot: string): boolean {
  if (path.includes(`?${FORCE_ESM_MARKER}`)) return true;
  // TypeScript frames are shown with the source map's path: the file itself, without the marker.
  return /\.m?ts$/.test(path) && !path.startsWith(ownRoot);
}

// Our own code (dist/ or src/): frames in it are never "the collector's own source".
const OWN_ROOT = fileURLToPath(new URL('..', import.meta.url));

const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

/** A frame's file as a path, without the hooks' query marker. */
export function framePath(location: string): string {
  const bare = location.replace(/\?[^:]*$/, '');
  if (bare.startsWith('file://')) {
    try {
      return fileURLToPath(bare);
    } catch {
      return bare;
    }
  }
  return bare;
}

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** The first frame of `stack` in a user module, or null. */
export function userFrame(stack: string | undefined): SourceLocation | null {
  if (typeof stack !== 'string') return null;
  for (const text of stack.split('\n')) {
    const match = FRAME.exec(text);
    if (!match) continue;
    const [, location = '', line, column] = match;
    if (!isUserLocation(location, OWN_ROOT)) continue;
    return { file: framePath(location), line: Number(line), column: Number(column) };
  }
  return null;
}

/** `path` relative to the current directory when it is inside it, else as is. */
export function shownPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** `" (at collectors/jobs.ts:12:9)"` for the first user frame of `err`'s stack, or `''`. */
export function locationSuffix(err: unknown): string {
  const frame = userFrame(stackOf(err));
  return frame ? ` (at ${shownPath(frame.file)}:${frame.line}:${frame.column})` : '';
}

/** The stack of an Error (or error-like object), never throwing. */
export function stackOf(err: unknown): string | undefined {
  try {
    const stack = (err as { stack?: unknown } | null)?.stack;
    return typeof stack === 'string' ? stack : undefined;
  } catch {
    return undefined;
  }
}

/** A stack as a person reads it: the hooks' query marker removed, file URLs as paths. */
export function cleanStack(stack: string): string {
  return stack
    .split('\n')
    .map((line) =>
      line.replace(/file:\/\/[^\s:)]+(\?[^\s:)]*)?/g, (url) => {
        try {
          return fileURLToPath(url.replace(/\?.*$/, ''));
        } catch {
          return url;
        }
      }),
    )
    .join('\n');
}

/** The user module a stack points into, if any: used to attribute an error whose async context was lost. */
export function userFileOf(err: unknown): string | null {
  return userFrame(stackOf(err))?.file ?? null;
}
