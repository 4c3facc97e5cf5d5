/**
 * `--json` errors (contract §7): a command ending with exit 2, 3 or 4 prints
 * `{ "error": { "exitCode", "message" } }` on stdout, so `| jq` gets something to read.
 */
import { AppError, messageOf } from '../errors.js';

const JSON_EXIT_CODES = new Set([2, 3, 4]);

/** Whether `--json` is among the command's arguments (before a `--`, which ends the options). */
export function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** The error document for exit `exitCode`, or null when that status prints none. */
export function jsonErrorDocument(exitCode: number, err: unknown): string | null {
  if (!JSON_EXIT_CODES.has(exitCode)) return null;
  const message = messageOf(err)
    .replace(/^error:\s*/i, '')
    .replace(/\s*\(Did you mean (.*)\)$/s, ' (did you mean $1)');
  return JSON.stringify({ error: { exitCode, message } });
}

/**
 * An error whose command already printed its JSON document (with an `error` member) on stdout: main.ts prints
 * the message on stderr but no second document.
 */
export class ReportedError extends AppError {
  readonly jsonPrinted = true;
}
