/**
 * The command line's shape: commands, flags and help texts (contract §7). Each action runs a command and hands its
 * outcome to `report`; main.ts turns outcomes and errors into exit statuses.
 */
import { Command, Option } from 'commander';
import { toolVersion } from '../config/load.js';
import { LOG_LEVELS } from '../log.js';
import { gatherCommand } from './commands/gather.js';
import { initCommand } from './commands/init.js';
import { inspectCommand } from './commands/inspect.js';
import { listCommand } from './commands/list.js';
import { shipCommand } from './commands/ship.js';
import { stateCommand } from './commands/state.js';
import type { Outcome } from './outcome.js';
import type { Output } from './output.js';

const NAME = 'analytics-collect';

const EXIT_CODES_HELP = `
Exit status:
  0    all went well
  1    the run finished, but a collector or an upload failed (or the config collector produced nothing)
  2    usage or configuration error: bad flag, date, config, collector module, damaged state, unreadable tarball
  3    another gather holds the lock
  4    license invalid, or shipping not configured (--ship)
  130  stopped by SIGINT (Ctrl-C); 143 stopped by SIGTERM`;

const TOP_HELP = `
Examples:
  $ ${NAME} init my-analytics                   a starter config and collectors folder
  $ ${NAME} gather                              dry run: tarballs in ./analytics-out, their paths on stdout
  $ ${NAME} gather --ship                       upload them; the next run continues from the state
  $ ${NAME} list                                the collectors a gather would run, in order
  $ ${NAME} inspect analytics-out/NAME.tar.gz   what a tarball holds
  $ ${NAME} <command> --help                    flags and examples of one command

stdout carries the result (paths, or JSON with --json); stderr carries logs, progress and the summary.
Logs are JSON lines unless stderr is a terminal. Secrets come from ANALYTICS_USERNAME, ANALYTICS_PASSWORD,
ANALYTICS_CLIENT_ID, ANALYTICS_CLIENT_SECRET, ANALYTICS_TOKEN, ANALYTICS_IDENTITY; ANALYTICS_PG_URL sets
coordination.postgres. NO_COLOR turns colours off; CI (or --quiet) turns the progress line off.
${EXIT_CODES_HELP}`;

const GATHER_HELP = `
Examples:
  $ ${NAME} gather                                  dry run of the window since the last shipped run
  $ ${NAME} gather --since 2026-11-01 --json        from Nov 1 (UTC) to now; one JSON document on stdout
  $ ${NAME} gather --since 2026-11-01 --until 2026-11-08T12:00:00Z
  $ ${NAME} gather --only host,events               just these collectors (config always runs)
  $ ${NAME} gather --collectors ./my-collectors --output /tmp/out --verbose
  $ ${NAME} gather --ship                           upload, then advance the state
  $ ${NAME} gather --ship --quiet > /dev/null       for cron: silent unless something fails

Without --ship nothing is uploaded and the state is only read. A window longer than 4 weeks is cut to 4 weeks.
DATE is ISO 8601 (2026-11-01, 2026-11-01T12:00:00+02:00); without an offset it is UTC.
On a terminal a progress line shows the collector running, bytes collected and tarballs written; it is off
with --quiet, when CI is set, or when stderr is not a terminal.
${EXIT_CODES_HELP}`;

const SHIP_HELP = `
Examples:
  $ ${NAME} ship analytics-out/failed/*.tar.gz      retry tarballs a gather --ship kept as failed
  $ ${NAME} ship x.tar.gz --config /etc/analytics/analytics.config.json --json

Uploads by the same rules as gather --ship (auth, retries, upload guard). The files are never deleted or
moved, and the state and the lock are not touched. stdout lists the tarballs that were accepted.
${EXIT_CODES_HELP}`;

const LIST_HELP = `
Examples:
  $ ${NAME} list
  $ ${NAME} list --collectors ./my-collectors --json

Loading the collectors checks them: a module that fails to load, a duplicate or reserved key, or a missing
config collector is reported here (exit 2) just as gather would.`;

const INSPECT_HELP = `
Examples:
  $ ${NAME} inspect analytics-out/analytics-2026-11-28-013306+0000-0.tar.gz
  $ ${NAME} inspect analytics-out/failed/analytics-2026-11-28-013306+0000-3.tar.gz --json`;

const STATE_HELP = `
Examples:
  $ ${NAME} state
  $ ${NAME} state --config /etc/analytics/analytics.config.json --json

The state is written only by gather --ship. With coordination.postgres (or ANALYTICS_PG_URL) it is read
from the database table instead of the JSON file.`;

const INIT_HELP = `
Examples:
  $ ${NAME} init                                    into the current directory
  $ ${NAME} init my-analytics && cd my-analytics && ${NAME} gather

Writes analytics.config.json, collectors/config.ts and collectors/example.ts; if any of them exists,
writes nothing (exit 2). The collectors import 'analytics-collect', which resolves to this CLI: no
npm install is needed in DIR.`;

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
 * Builds the program. `report` receives the outcome of the command that ran; `signal` aborts on SIGINT/SIGTERM.
 */
export function buildProgram(out: Output, signal: AbortSignal, report: (outcome: Outcome) => void): Command {
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
      .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS))
      .option('-v, --verbose', 'debug logs (same as --log-level debug)')
      .option('-q, --quiet', quiet);

  const command = (name: string): Command => {
    const cmd = program.command(name);
    errorsNamed(cmd, `${NAME} ${name}`);
    return cmd;
  };

  logFlags(
    command('gather')
      .description('Run the collectors and write tarballs (a dry run), or upload them with --ship.')
      .option('--ship', 'upload the tarballs to ship.url and advance the state')
      .option('--keep', 'with --ship: keep tarballs after a successful upload')
      .option('--since <date>', 'start of the window (ISO 8601; no offset = UTC)')
      .option('--until <date>', 'end of the window (default: now)')
      .option('--only <keys>', 'only these collector keys, comma separated (config always runs)')
      .option('--output <dir>', 'where tarballs are written (config "output")')
      .option('--collectors <dir>', 'the collectors directory (config "collectors")')
      .option('--config <file>', 'the configuration file (default: found from the current directory)')
      .option('--json', 'print one JSON document with the tarballs and collections'),
  )
    .addHelpText('after', GATHER_HELP)
    .action(async (flags) => report(await gatherCommand(flags, out, signal)));

  logFlags(
    command('ship')
      .description('Upload existing tarballs (never deletes or moves them, never touches the state).')
      .argument('<tarball...>', 'tarballs to upload')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print one JSON document with the results'),
  )
    .addHelpText('after', SHIP_HELP)
    .action(async (files: string[], flags) => report(await shipCommand(files, flags, out, signal)));

  logFlags(
    command('list')
      .description('List the collectors a gather would run, in order.')
      .option('--collectors <dir>', 'the collectors directory')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    'warnings and errors only (the default here)',
  )
    .addHelpText('after', LIST_HELP)
    .action(async (flags) => report(await listCommand(flags, out)));

  command('inspect')
    .description('Show what a tarball holds: members and sizes, manifest, collection status.')
    .argument('<tarball>', 'the tarball to read')
    .option('--json', 'print JSON')
    .addHelpText('after', INSPECT_HELP)
    .action(async (file: string, flags) => report(await inspectCommand(file, flags, out)));

  logFlags(
    command('state')
      .description('Show where each collector continues from (lastGather and entries).')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print JSON'),
    'warnings and errors only (the default here)',
  )
    .addHelpText('after', STATE_HELP)
    .action(async (flags) => report(await stateCommand(flags, out)));

  command('init')
    .description('Write a starter analytics.config.json and collectors/ folder (never overwrites).')
    .argument('[dir]', 'where to write them', '.')
    .addHelpText('after', INIT_HELP)
    .action(async (dir: string) => report(await initCommand(dir, out)));

  return program;
}
