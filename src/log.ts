/**
 * The logger: pino JSON on stderr, or readable one-line events when stderr is a terminal (contract §7). Secrets
 * never reach the output, by two independent means: pino's `redact` masks fields whose names say "secret"
 * wherever they sit, and every written line passes through the one redactor of src/secrets (every registered
 * secret in every encoding), which catches a secret inside a message, an error text or a field nobody thought
 * of — also when the logger writes to a file descriptor, past the CLI's output boundary.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import type * as PinoPretty from 'pino-pretty';
import { escapeControlInJson, escapeRawInJson, MASK, redactSecrets } from './secrets/index.js';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Whether `value` names a log level (for checking `--log-level`). */
export const isLogLevel = (value: string): value is LevelWithSilent => (LOG_LEVELS as readonly string[]).includes(value);

export const REDACTED = MASK;

/** Field names that hold secrets, masked at any depth up to three levels (pino's redact needs explicit depths). */
const SECRET_FIELDS = ['password', 'clientSecret', 'client_secret', 'token', 'accessToken', 'access_token', 'identity'];
/** Header names that carry credentials; header objects are logged under `headers` (got, our shippers). */
const SECRET_HEADERS = ['authorization', 'Authorization', 'proxy-authorization', 'Proxy-Authorization', 'x-rh-identity', 'X-Rh-Identity'];

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  ...SECRET_HEADERS.flatMap((name) => {
    const key = /^[A-Za-z]+$/.test(name) ? `.${name}` : `["${name}"]`;
    return [`headers${key}`, `*.headers${key}`, `*.*.headers${key}`];
  }),
];

/** Anything a formatted line can be handed to, synchronously (a stream, or the CLI's terminal writer). */
export interface LineSink {
  write(line: string): unknown;
}

/**
 * Decides whether an `info` event is routine enough to be logged at `debug` instead. Gets the event's own fields
 * (the first argument of `logger.info(fields, msg)`) and the logger's bindings (a child's `{ collector }`, say).
 */
export type DemoteInfo = (fields: Record<string, unknown>, bindings: Record<string, unknown>) => boolean;

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Readable lines (for a terminal) instead of JSON. */
  pretty: boolean;
  /** Where lines go: a stream, a line sink or a file descriptor; default stderr (fd 2). */
  destination?: NodeJS.WritableStream | LineSink | number;
  /**
   * Info events for which this returns true are logged at debug level instead (so `--verbose` still shows them).
   * The CLI uses it on a terminal, where the progress line and the summary already say what these lines say.
   */
  demoteInfo?: DemoteInfo;
  /** Colours in pretty mode; default: on unless NO_COLOR is set (https://no-color.org). */
  colorize?: boolean;
}

/** Synchronous writes to a descriptor, so nothing is lost when the CLI exits right after logging. */
function sinkFor(destination: NodeJS.WritableStream | LineSink | number | undefined): LineSink {
  if (destination === undefined || typeof destination === 'number') return pino.destination({ dest: destination ?? 2, sync: true });
  return destination;
}

/**
 * Creates the process's logger. Everything is formatted in this thread (no transport workers), so a line is
 * written before `logger.info()` returns.
 */
export function createLogger(options: LoggerOptions): Logger {
  const sink = sinkFor(options.destination);
  const mask = redactSecrets;
  let stream: DestinationStream;
  if (options.pretty) {
    const verbose = options.level === 'debug' || options.level === 'trace';
    // Loaded only for a terminal (start-up time): logs to a pipe or a file are JSON lines.
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const pretty = prettyFactory({
      colorize: options.colorize ?? !process.env.NO_COLOR,
      // One line per event: errors inline like any other field (pino-pretty would spread them over lines),
      // and their stacks only when debugging.
      singleLine: true,
      errorLikeObjectKeys: [],
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: verbose ? 'pid,hostname' : 'pid,hostname,err.stack,error.stack',
    });
    // Masked before and after formatting: pretty-printing unescapes strings, so a secret could take a new form.
    // Control characters in values (a collector's error, an ingress's answer) are turned into visible escapes
    // first, or the prettifier would hand them to the terminal raw.
    stream = { write: (line: string) => void sink.write(mask(pretty(escapeControlInJson(mask(line))))) };
  } else {
    // JSON already escapes C0 controls; C1 controls and bidi marks are escaped too (the same value).
    stream = { write: (line: string) => void sink.write(escapeRawInJson(mask(line))) };
  }
  const demote = options.demoteInfo;
  return pino(
    {
      level: options.level,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      ...(demote
        ? {
            hooks: {
              logMethod(this: Logger, args: Parameters<Logger['info']>, method: Logger['info'], level: number): void {
                const fields = args[0];
                if (level === INFO && isFields(fields) && demote(fields, this.bindings())) {
                  // Re-enters this hook at debug level, which passes through: the event is kept, one level lower.
                  (this.debug)(...args);
                  return;
                }
                (method).apply(this, args);
              },
            },
          }
        : {}),
    },
    stream,
  );
}

/** pino's numeric level of `info`. */
const INFO = 30;

const isFields = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !(value instanceof Error) && !Array.isArray(value);
