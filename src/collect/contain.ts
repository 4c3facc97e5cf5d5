/**
 * Containment of collector code (contract §2). Everything user code runs — a module's top-level code, a
 * collector, a slicing function, a packager hook — runs inside a *scope* (AsyncLocalStorage), bounded in time.
 * What that code does outside its own promise is attributed to its scope instead of taking the process down:
 * - `process.exit()` fails the scope (the call throws, so the code after it does not run);
 * - an uncaught exception or unhandled rejection fails the scope it came from (or, when the async context was
 *   lost, the user module its stack points into);
 * - `console.*` writes to stderr, so stdout carries only the result.
 * A failure that arrives after the scope ended (a late rejection after a collector returned) is a *stray*
 * failure: reported, counted (the CLI exits at least 1), and passed to the scope's `onLate` when given.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { describeThrown, locationSuffix, shownPath, userFileOf } from './where.js';

/** A failure of contained code: the message says what and where. */
export class ContainedError extends Error {
  override readonly name = 'ContainedError';
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** Thrown by the intercepted `process.exit()`; never reported twice. */
class ExitIntercepted extends ContainedError {}

class Scope {
  private reject: ((err: ContainedError) => void) | null = null;
  private failed = false;
  constructor(
    readonly label: string,
    private readonly onLate: ((message: string) => void) | undefined,
  ) {}

  /** While running: the contained call fails with `message`. After: a stray failure. */
  fail(message: string): void {
    if (this.reject) {
      this.failed = true;
      this.reject(new ContainedError(message));
      return;
    }
    if (this.failed) return; // e.g. a timed-out collector's own late rejection: it failed already
    this.failed = true;
    this.onLate?.(message);
    recordStray(`${this.label} failed after it returned: ${message}`);
  }

  start(reject: (err: ContainedError) => void): void {
    this.reject = reject;
  }

  /** The contained call is over; `failed` when it ended in failure (later problems are not news). */
  end(failed: boolean): void {
    this.reject = null;
    if (failed) this.failed = true;
  }
}

const storage = new AsyncLocalStorage<Scope>();
const strays: string[] = [];
let onStray: ((message: string) => void) | null = null;
/** User module path → what to call it in a message, for errors whose async context was lost. */
const moduleLabels = new Map<string, string>();

function recordStray(message: string): void {
  strays.push(message);
  try {
    onStray?.(message);
  } catch {
    // Showing it failed (stderr closed): it is still counted.
  }
}

/** Stray failures so far (each one line, naming the collector or module); the CLI exits at least 1 with any. */
export function strayFailures(): readonly string[] {
  return strays;
}

/** Names a loaded user module, so an error from it whose async context was lost can still be attributed. */
export function nameUserModule(file: string, label: string): void {
  moduleLabels.set(file, label);
}

export interface ContainOptions {
  /** Who runs: `collector "jobs"`, `collector module collectors/a.ts`, `packager p.mjs`… */
  label: string;
  timeoutMs: number;
  /** Rejects the call at once (with the signal's reason) when aborted. */
  signal?: AbortSignal;
  /** A failure of the scope after the call ended (the collector already returned). */
  onLate?: (message: string) => void;
}

/**
 * Runs `fn` inside a scope, for at most `timeoutMs`: resolves with its value, or rejects with what it threw,
 * a ContainedError (timeout, `process.exit()`, a stray exception of its own), or the signal's reason. A call that
 * times out is abandoned (its late result ignored); the timer keeps the event loop alive while waiting, so code
 * that never settles cannot make the process exit silently.
 */
export async function contained<T>(fn: () => T | PromiseLike<T>, options: ContainOptions): Promise<T> {
  const scope = new Scope(options.label, options.onLate);
  const { signal } = options;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const guard = new Promise<never>((_, reject) => {
    scope.start(reject);
    timer = setTimeout(() => {
      reject(new ContainedError(`timed out after ${options.timeoutMs} ms (collectorTimeoutMs)`, true));
    }, options.timeoutMs);
    if (signal) {
      onAbort = () => reject(signal.reason as Error);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  let failed = true;
  try {
    const work = storage.run(scope, async () => fn());
    const value = await Promise.race([work, guard]);
    failed = false;
    return value;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    scope.end(failed);
  }
}

let installed = false;
let realExit: ((code?: number) => never) | null = null;

export interface InstallOptions {
  /** Where `console.*` output goes (stderr). */
  writeConsole: (text: string) => void;
  /** Told of each stray failure, to show it at once. */
  onStray?: (message: string) => void;
}

/**
 * Installs the process-wide interception, once (the CLI does it; the library never does). From then on
 * `process.exit()` is for the CLI itself through `exitProcess()` only.
 */
export function installContainment(options: InstallOptions): void {
  onStray = options.onStray ?? null;
  if (installed) return;
  installed = true;
  realExit = process.exit.bind(process);
  process.exit = interceptedExit;
  process.on('uncaughtException', (err, origin) => strayError(err, origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'));
  process.on('unhandledRejection', (reason) => strayError(reason, 'unhandled rejection'));
  // A reader that went away (`| head`, a dropped SSH session): writes fail quietly instead of as stray errors.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      options.writeConsole(chunk.toString());
      done();
    },
  });
  globalThis.console = new Console({ stdout: sink, stderr: sink });
}

/** Exits the process (the CLI's own exit, once its work is done). */
export function exitProcess(code: number): never {
  return (realExit ?? process.exit.bind(process))(code);
}

function interceptedExit(code?: number | string | null): never {
  const where = locationSuffix(new Error('process.exit'));
  const message = `called process.exit(${code === undefined || code === null ? '' : String(code)})${where}; it cannot end the run`;
  const scope = storage.getStore();
  if (scope) scope.fail(message);
  else recordStray(`code outside any collector ${message}`);
  throw new ExitIntercepted(message);
}

function strayError(err: unknown, kind: string): void {
  if (err instanceof ExitIntercepted) return; // reported when process.exit() was called
  const message = `${kind}: ${describeThrown(err)}${locationSuffix(err)}`;
  const scope = storage.getStore();
  if (scope) {
    scope.fail(message);
    return;
  }
  const file = userFileOf(err);
  const label = file === null ? undefined : (moduleLabels.get(file) ?? `code of ${shownPath(file)}`);
  recordStray(`${label ?? 'code outside any collector (could not tell which)'}: ${message}`);
}
