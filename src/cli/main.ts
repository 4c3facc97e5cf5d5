/**
 * The CLI entry: builds the commands, runs one, and maps what it threw to an exit status (contract §7).
 * The only module that decides exit codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { toolVersion } from '../config/load.js';
import { AppError, messageOf } from '../errors.js';
import { processOutput, type Output } from './output.js';
import { gatherCommand } from './commands/gather.js';
import { listCommand } from './commands/list.js';
import { stateCommand } from './commands/state.js';
import { shipCommand } from './commands/ship.js';
import { inspectCommand } from './commands/inspect.js';
import { initCommand } from './commands/init.js';

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Runs the CLI with `argv` (as `process.argv`); resolves to the exit status. */
export async function main(argv: readonly string[], out: Output = processOutput()): Promise<number> {
  const controller = new AbortController();
  let stoppedBy: string | null = null;
  const onSignal = (name: NodeJS.Signals): void => {
    if (stoppedBy !== null) {
      // A second signal: the user means it. Leave now; the first one already asked everything to stop.
      process.exit(SIGNAL_EXIT[name] ?? 1);
    }
    stoppedBy = name;
    out.note(`${name} received: stopping (temporary files are removed, the state keeps what was accepted)…`);
    controller.abort(new AppError('INTERRUPTED', `stopped by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let status = 0;
  const program = buildProgram(out, controller.signal, (code) => (status = code));
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    status = exitStatusOf(err, out, stoppedBy);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stoppedBy !== null && status !== 2) return SIGNAL_EXIT[stoppedBy] ?? 130;
  return status;
}

function exitStatusOf(err: unknown, out: Output, stoppedBy: string | null): number {
  if (err instanceof CommanderError) {
    // Commander printed its own message (help, version, or the usage problem).
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof AppError) {
    if (err.code === 'INTERRUPTED') return SIGNAL_EXIT[stoppedBy ?? 'SIGINT'] ?? 130;
    out.note(`analytics-collect: ${err.message}`);
    return err.exitCode;
  }
  out.note(`analytics-collect: unexpected error: ${messageOf(err)}`);
  if (process.env.ANALYTICS_DEBUG && err instanceof Error && err.stack) out.note(err.stack);
  return 1;
}

function buildProgram(out: Output, signal: AbortSignal, setStatus: (code: number) => void): Command {
  const program = new Command('analytics-collect')
    .description('Run collector modules, pack their output into size-limited .tar.gz tarballs, and ship them.')
    .version(toolVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');

  const logFlags = (cmd: Command): Command =>
    cmd
      .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
      .option('-v, --verbose', 'log debug details (same as --log-level debug)')
      .option('-q, --quiet', 'log only warnings and errors, no progress');

  logFlags(
    program
      .command('gather')
      .description('Run the collectors and write tarballs (a dry run), or upload them with --ship.')
      .option('--ship', 'upload the tarballs to ship.url and advance the state')
      .option('--keep', 'with --ship: keep tarballs after a successful upload')
      .option('--since <date>', 'start of the window (ISO 8601; no offset = UTC)')
      .option('--until <date>', 'end of the window (default: now)')
      .option('--only <keys>', 'only these collector keys, comma separated (config always runs)')
      .option('--output <dir>', 'where tarballs are written')
      .option('--collectors <dir>', 'the collectors directory')
      .option('--config <file>', 'the configuration file (default: found from the current directory)')
      .option('--json', 'print one JSON document with the tarballs and collections'),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ analytics-collect gather                          dry run: tarballs in ./analytics-out, paths on stdout
  $ analytics-collect gather --since 2026-11-01 --json
  $ analytics-collect gather --only jobs,hosts
  $ analytics-collect gather --ship                   upload, continue from the state next time`,
    )
    .action(async (flags) => setStatus(await gatherCommand(flags, out, signal)));

  logFlags(
    program
      .command('ship')
      .description('Upload existing tarballs (never deletes them, never touches the state).')
      .argument('<tarball...>', 'tarballs to upload')
      .option('--config <file>', 'the configuration file')
      .option('--json', 'print one JSON document with the results'),
  )
    .addHelpText('after', `\nExamples:\n  $ analytics-collect ship analytics-out/failed/*.tar.gz`)
    .action(async (files: string[], flags) => setStatus(await shipCommand(files, flags, out, signal)));

  program
    .command('list')
    .description('List the collectors a gather would run, in order.')
    .option('--collectors <dir>', 'the collectors directory')
    .option('--config <file>', 'the configuration file')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExamples:\n  $ analytics-collect list\n  $ analytics-collect list --collectors ./my-collectors --json`)
    .action(async (flags) => setStatus(await listCommand(flags, out)));

  program
    .command('inspect')
    .description('Show what a tarball holds: members and sizes, manifest, collection status.')
    .argument('<tarball>', 'the tarball to read')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExamples:\n  $ analytics-collect inspect analytics-out/analytics-2026-11-28-013306+0000-0.tar.gz`)
    .action(async (file: string, flags) => setStatus(await inspectCommand(file, flags, out)));

  program
    .command('state')
    .description('Show where each collector will continue from (lastGather and entries).')
    .option('--config <file>', 'the configuration file')
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExamples:\n  $ analytics-collect state --json`)
    .action(async (flags) => setStatus(await stateCommand(flags, out)));

  program
    .command('init')
    .description('Write a starter analytics.config.json and collectors/ folder (refuses to overwrite).')
    .argument('[dir]', 'where to write them', '.')
    .addHelpText('after', `\nExamples:\n  $ analytics-collect init my-analytics && cd my-analytics && analytics-collect gather`)
    .action(async (dir: string) => setStatus(await initCommand(dir, out)));

  return program;
}
