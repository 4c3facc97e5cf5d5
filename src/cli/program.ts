/**
 * The command line's shape: commands, flags and help texts (contract §7). Each action loads its command's module
 * only when it runs (so `--help`, `--version` and `list` start fast), runs it and hands its outcome to `report`;
 * main.ts turns outcomes and errors into exit statuses.
 */
import { Command, Option } from 'commander';
import {
  CHECK_HELP,
  GATHER_HELP,
  HISTORY_HELP,
  STATUS_HELP,
  TRACK_HELP,
  INIT_HELP,
  INSPECT_HELP,
  LIST_HELP,
  LOG_LEVEL_NAMES,
  NAME,
  SHIP_HELP,
  STATE_HELP,
  TOP_HELP,
} from './help.js';
import type { RunRecorder } from '../history/recorder.js';
import type { CheckFlags } from './commands/check.js';
import type { GatherFlags } from './commands/gather.js';
import type { HistoryFlags } from './commands/history.js';
import type { InspectFlags } from './commands/inspect.js';
import type { ShipFlags } from './commands/ship.js';
import type { StatusFlags } from './commands/status.js';
import type { TrackFlags } from './commands/track.js';
import type { CommonFlags } from './setup.js';
import type { Outcome } from './outcome.js';
import type { Output } from './output.js';
import { toolVersion } from './version.js';

/** Commander's "error: unknown option '--x'\n(Did you mean --y?)" as one line naming the command. */
export function oneLineError(message: string, command: string): string {
  const text = message
    .trim()
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*\(Did you mean (.*)\)$/s, ' (did you mean $1)')
    .replace(/\s*\n\s*/g, '; ')
    .replace(/\.$/, '');
  return `${command}: ${text}; see "${command} --help"\n`;
}

/**
 * Builds the program. `report` receives the outcome of the command that ran; `signal` aborts on SIGINT/SIGTERM;
 * `recorder` collects what gather, ship and state set|reset did, for the history and metrics (main.ts writes them).
 */
export function buildProgram(out: Output, signal: AbortSignal, report: (outcome: Outcome) => void, recorder?: RunRecorder): Command {
  const program = new Command(NAME)
    .description('Run collector modules, pack their output into size-limited .tar.gz tarballs, and ship them to an ingress.')
    .version(toolVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
    })
    .addHelpText('after', TOP_HELP);
  // Usage errors: one line on stderr naming the command, then exit 2 (main.ts).
  const errorsNamed = (cmd: Command, name: string): Command =>
    cmd.configureOutput({ outputError: (message, write) => write(oneLineError(message, name)) });
  errorsNamed(program, NAME);

  const logFlags = (cmd: Command, quiet = 'warnings and errors only; no progress; the summary only when something failed'): Command =>
    cmd
      .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVEL_NAMES))
      .option('-v, --verbose', 'debug logs (same as --log-level debug); says which config file was used')
      .option('-q, --quiet', quiet);

  const command = (parent: Command, name: string, fullName = name): Command => {
    const cmd = parent.command(name);
    errorsNamed(cmd, `${NAME} ${fullName}`);
    return cmd;
  };
  const quietDefault = 'warnings and errors only (the default here)';

  logFlags(
    command(program, 'gather')
      .description('Run the collectors and write tarballs (a dry run), or upload them with --ship.')
      .option('--ship', 'upload the tarballs to ship.url and advance the state')
      .option('--keep', 'with --ship: keep tarballs after a successful upload')
      .option('--since <date>', 'start of the window (ISO 8601; no offset = UTC)')
      .option('--until <date>', 'end of the window (default: now)')
      .option('--only <keys>', 'only these collector keys, comma separated (config always runs)')
      .option('--output <dir>', 'where tarballs are written (config "output")')
      .option('--collectors <dir>', 'the collectors directory (config "collectors")')
      .option('--config <file>', 'the configuration file (default: found from the current directory)')
      .option('--json', 'print one JSON document with the tarballs and collections')
      .option('--metrics-file <file>', 'write Prometheus metrics there when the run ends (config "metricsFile")'),
  )
    .addHelpText('after', GATHER_HELP)
    .action(async (flags: GatherFlags) => report(await (await import('./commands/gather.js')).gatherCommand(flags, out, signal, recorder)));

  logFlags(
    command(program, 'ship')
      .description('Upload existing tarballs (never moves them or touches the state; deletes accepted ones with --delete).')
      .argument('<tarball...>', 'tarballs to upload')
      .option('--delete', 'delete each tarball the ingress accepted')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print one JSON document with the results')
      .option('--metrics-file <file>', 'write Prometheus metrics there when the run ends (config "metricsFile")'),
  )
    .addHelpText('after', SHIP_HELP)
    .action(async (files: string[], flags: ShipFlags) => report(await (await import('./commands/ship.js')).shipCommand(files, flags, out, signal, recorder)));

  logFlags(
    command(program, 'list')
      .description('List the collectors a gather would run, in order.')
      .option('--collectors <dir>', 'the collectors directory')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', LIST_HELP)
    .action(async (flags: CommonFlags) => report(await (await import('./commands/list.js')).listCommand(flags, out)));

  command(program, 'inspect')
    .description('Show what tarballs hold: members and sizes, manifest, collection status; or one member\'s bytes.')
    .argument('<tarball...>', 'the tarballs to read')
    .option('--cat <member>', "write this member's bytes to stdout (one tarball)")
    .option('--json', 'print JSON (an array when several tarballs are given)')
    .addHelpText('after', INSPECT_HELP)
    .action(async (files: string[], flags: InspectFlags) => report(await (await import('./commands/inspect.js')).inspectCommand(files, flags, out)));

  const state = logFlags(
    command(program, 'state')
      .description('Show where each collector continues from (lastGather and entries); set or reset a key.')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', STATE_HELP)
    .action(async (flags: CommonFlags) => report(await (await import('./commands/state.js')).stateCommand(flags, out, signal)));
  logFlags(
    command(state, 'set', 'state set')
      .description('Set where KEY continues from: the next run gathers KEY from DATE.')
      .argument('<key>', 'a collector key, or a key in the state')
      .argument('<date>', 'ISO 8601; no offset = UTC; at most 5 minutes in the future')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', STATE_HELP)
    .action(async (key: string, date: string, _flags, cmd: Command) =>
      report(await (await import('./commands/state-change.js')).stateSetCommand(key, date, cmd.optsWithGlobals(), out, recorder, signal)),
    );
  logFlags(
    command(state, 'reset', 'state reset')
      .description('Remove KEY (and KEY_full) from the state: the next run gathers KEY from 4 weeks back.')
      .argument('<key>', 'a collector key, or a key in the state')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', STATE_HELP)
    .action(async (key: string, _flags, cmd: Command) =>
      report(await (await import('./commands/state-change.js')).stateResetCommand(key, cmd.optsWithGlobals(), out, recorder, signal)),
    );

  logFlags(
    command(program, 'check')
      .description("Will tonight's run work? Settings and their sources, collectors, locations, lock; --ship tests the ingress.")
      .option('--ship', 'also check shipping: configured, and a test request to the ingress (nothing is stored)')
      .option('--collectors <dir>', 'the collectors directory')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', CHECK_HELP)
    .action(async (flags: CheckFlags) => report(await (await import('./commands/check.js')).checkCommand(flags, out, signal)));

  logFlags(
    command(program, 'history')
      .description('Show the last runs (gather, ship, state set|reset), newest first.')
      .option('--limit <n>', 'how many runs to show (default 20)')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', HISTORY_HELP)
    .action(async (flags: HistoryFlags) => report(await (await import('./commands/history.js')).historyCommand(flags, out, signal)));

  logFlags(
    command(program, 'status')
      .description('For monitoring: last run, last successful ship run, key lags, failed/ tarballs, lock holder; exit 1 when unhealthy.')
      .option('--max-age <duration>', 'also unhealthy when no gather --ship succeeded, or a key lags, more than this (90m, 26h, 7d)')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', STATUS_HELP)
    .action(async (flags: StatusFlags) => report(await (await import('./commands/status.js')).statusCommand(flags, out, signal)));

  logFlags(
    command(program, 'track')
      .description('Ask the ingress what became of uploads: status, status_msg and date per request id.')
      .argument('[requestId...]', 'request ids the ingress gave (gather --ship --json, history --json)')
      .option('--last', 'the request ids of the newest run in the history that has any')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    quietDefault,
  )
    .addHelpText('after', TRACK_HELP)
    .action(async (ids: string[], flags: TrackFlags) => report(await (await import('./commands/track.js')).trackCommand(ids, flags, out, signal)));

  command(program, 'init')
    .description('Write a starter analytics.config.json and collectors/ folder (never overwrites).')
    .argument('[dir]', 'where to write them', '.')
    .addHelpText('after', INIT_HELP)
    .action(async (dir: string) => report(await (await import('./commands/init.js')).initCommand(dir, out)));

  return program;
}
