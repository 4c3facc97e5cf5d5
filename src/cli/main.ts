/**
 * The CLI entry: runs one command and maps its outcome, or what it threw, to an exit status (contract §7).
 * The only module that decides exit codes.
 */
import type { Command, CommanderError } from 'commander';
import { exitProcess, installContainment, strayFailures } from '../collect/contain.js';
import { AppError, EXIT_CODES, messageOf } from '../errors.js';
import type { RunRecorder } from '../history/recorder.js';
import { escapeControl, installOutputBoundary, registerSecretsFromEnv } from '../secrets/index.js';
import { jsonErrorDocument, ReportedError, wantsJson } from './json-error.js';
import type { Outcome } from './outcome.js';
import { processOutput, type Output } from './output.js';

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
/** SIGHUP (a dropped SSH session) stops a run like SIGTERM: temporary files removed, the lock released. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const OUTCOME_EXIT: Record<Outcome, number> = { ok: 0, failed: EXIT_CODES.FAILED };

/**
 * Runs the CLI with `argv` (as `process.argv`); resolves to the exit status. The bin exits with it at once, so
 * that a collector abandoned after its timeout cannot keep the process alive.
 */
export async function main(argv: readonly string[], out: Output = processOutput()): Promise<number> {
  // The secrets boundary first (contract §5): nothing this process prints leaves unredacted.
  registerSecretsFromEnv();
  installOutputBoundary();
  const controller = new AbortController();
  let stoppedBy: string | null = null;
  const onSignal = (name: NodeJS.Signals): void => {
    if (stoppedBy !== null) {
      // A second signal: the user means it. Leave now; the first one already asked everything to stop.
      exitProcess(SIGNAL_EXIT[name] ?? 1);
    }
    stoppedBy = name;
    out.note(`${name} received: stopping (temporary files are removed, the state keeps what was accepted)…`);
    controller.abort(new AppError('INTERRUPTED', `stopped by ${name}`));
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  let status = 0;
  // The one place that records a run (history line, metrics file, contract §9), once the exit status is known.
  let recorder: RunRecorder | null = null;
  try {
    // Loaded here, not at the top: `--version` needs none of it (start-up time).
    if (isVersionOnly(argv)) {
      out.result((await import('./version.js')).toolVersion());
      return 0;
    }
    const [{ buildProgram }, history, { toolVersion }] = await Promise.all([
      import('./program.js'),
      // The recorder (history and metrics stores) loads only for the commands it records: not for --help, list…
      mayRecord(argv) ? import('../history/recorder.js') : null,
      import('./version.js'),
    ]);
    const run = history ? (recorder = new history.RunRecorder({ version: toolVersion(), warn: (text) => out.note(text) })) : undefined;
    const program = buildProgram(out, controller.signal, (outcome) => (status = OUTCOME_EXIT[outcome]), run);
    if (run) program.hook('preAction', (_root, action) => beginRecording(run, action));
    await program.parseAsync(argv);
  } catch (err) {
    status = exitStatusOf(err, out, stoppedBy);
    // With --json, a script reading stdout gets the error too (contract §7).
    const json = wantsJson(argv) && !(err instanceof ReportedError) ? jsonErrorDocument(status, err) : null;
    if (json !== null) out.result(json);
    recorder?.noteError(err instanceof AppError && err.code === 'INTERRUPTED' ? `stopped by ${stoppedBy ?? 'a signal'}` : messageOf(err));
  } finally {
    for (const name of SIGNALS) process.off(name, onSignal);
  }
  // A usage error found while stopping is still a usage error; anything else ends as "stopped by a signal".
  if (stoppedBy !== null && status !== EXIT_CODES.USAGE) status = SIGNAL_EXIT[stoppedBy] ?? 130;
  // Stray failures of collector code make a clean run exit 1 (runCli): the history must record that status.
  if (status === 0 && strayFailures().length > 0) status = EXIT_CODES.FAILED;
  await recorder?.finish(status);
  return status;
}

/** Which runs the history records (§9): gather, ship, state set, state reset. */
function beginRecording(recorder: RunRecorder, action: Command): void {
  const name = action.parent?.parent ? `${action.parent.name()} ${action.name()}` : action.name();
  if (name === 'gather') recorder.begin('gather', action.opts<{ ship?: boolean }>().ship ? 'ship' : 'dry-run');
  else if (name === 'ship') recorder.begin('ship', 'ship');
  else if (name === 'state set' || name === 'state reset') recorder.begin(name, null);
}

/**
 * Whether argv may run a command the history records (gather, ship, state set|reset): its first word is one of
 * them and it does not ask for help. Commander decides what really runs; this only decides what to load.
 */
function mayRecord(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) return false;
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'gather' || words[0] === 'ship' || (words[0] === 'state' && args.some((a) => a === 'set' || a === 'reset'));
}

/** `analytics-collect --version` (or `-V`) and nothing else. */
const isVersionOnly = (argv: readonly string[]): boolean => argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V');

const isCommanderError = (err: unknown): err is CommanderError =>
  err instanceof Error && typeof (err as Partial<CommanderError>).code === 'string' && (err as CommanderError).code.startsWith('commander.');

/**
 * The executable's entry: contains collector code for the whole process (contract §2: `process.exit()`, stray
 * errors, `console.*` to stderr), runs the command, and counts stray failures of collector code (exit at least 1).
 * Exit with `exitProcess()`: `process.exit` belongs to the containment from here on.
 */
export async function runCli(argv: readonly string[], out: Output = processOutput()): Promise<number> {
  installContainment({
    writeConsole: (text) => out.log(text),
    onStray: (message) => out.note(`analytics-collect: ${message}`),
  });
  const status = await main(argv, out);
  return status === 0 && strayFailures().length > 0 ? EXIT_CODES.FAILED : status;
}

export { exitProcess };

function exitStatusOf(err: unknown, out: Output, stoppedBy: string | null): number {
  if (isCommanderError(err)) {
    // Commander printed its own text already: help and version (exit 0), or the usage problem (exit 2).
    return err.exitCode === 0 ? 0 : EXIT_CODES.USAGE;
  }
  if (err instanceof AppError) {
    if (err.code === 'INTERRUPTED') return SIGNAL_EXIT[stoppedBy ?? 'SIGINT'] ?? 130;
    // Our messages may quote outside text (a collector's error, a server's answer): shown escaped.
    out.note(`analytics-collect: ${escapeControl(err.message)}`);
    return err.exitCode;
  }
  out.note(`analytics-collect: unexpected error: ${messageOf(err)}`);
  if (process.env.ANALYTICS_DEBUG && err instanceof Error && err.stack) out.note(err.stack);
  return EXIT_CODES.FAILED;
}
