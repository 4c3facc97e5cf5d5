/**
 * Errors that end a command carry a code; only the CLI entry maps codes to exit statuses (contract §7).
 */
import { escapeControlLine } from './secrets/escape.js';

export type ErrorCode =
  | 'USAGE' // 2: bad flag, date, config, collector module, damaged state, unreadable tarball
  | 'NOT_CONFIGURED' // 4: license invalid or shipping not configured
  | 'LOCKED' // 3: another gather holds the lock
  | 'INTERRUPTED' // 130/143: stopped by a signal
  | 'FAILED'; // 1: the run finished but something failed

export const EXIT_CODES: Record<ErrorCode, number> = {
  FAILED: 1,
  USAGE: 2,
  LOCKED: 3,
  NOT_CONFIGURED: 4,
  INTERRUPTED: 130,
};

export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get exitCode(): number {
    return this.details.exitCode ?? EXIT_CODES[this.code];
  }
}

/** A usage or configuration problem: exit 2. */
export const usageError = (message: string, cause?: unknown): AppError => new AppError('USAGE', message, { cause });

/**
 * The message of anything thrown, on one line, control characters shown escaped: thrown text often comes from
 * outside (collector code, a server), and must not drive the terminal it is shown on (contract §5). Never throws,
 * whatever the value (`Object.create(null)`, a `toString` or `message` getter that throws, a revoked Proxy), and
 * never returns an empty string.
 */
export function messageOf(err: unknown): string {
  const line = escapeControlLine(textOf(err).replace(/\s*\n\s*/g, ' ').trim());
  return line === '' ? 'an empty error' : line;
}

function textOf(err: unknown): string {
  try {
    if (err instanceof Error) {
      const message: unknown = err.message;
      return typeof message === 'string' ? message : String(message);
    }
    return String(err);
  } catch {
    return `a value that is not an Error (${tagOf(err)})`;
  }
}

/** `[object Object]`, `[object Null]`… or, when even that throws (a revoked Proxy), its `typeof`. */
function tagOf(value: unknown): string {
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return typeof value;
  }
}
