/**
 * The help texts of the command line (contract §7): examples of every flag, and per command only the exit
 * statuses that command can return. Plain strings, no imports: `--help` must start fast.
 */

export const NAME = 'analytics-collect';

/** pino's levels (src/log.ts's LOG_LEVELS; a unit test keeps the two equal), without loading pino for `--help`. */
export const LOG_LEVEL_NAMES = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const EXIT_LINES: Record<string, string> = {
  0: '0    all went well',
  1: '1    the run finished, but a collector or an upload failed (or the config collector produced nothing)',
  '1s': '1    an upload failed',
  '1c': '1    the connection test (--ship) failed',
  2: '2    usage or configuration error: bad flag, date, config, collector module, damaged state, unreadable tarball',
  3: '3    another gather holds the lock',
  4: '4    license invalid, or shipping not configured',
  '4c': '4    with --ship: shipping not configured (or the license is invalid)',
  130: '130  stopped by SIGINT (Ctrl-C); 143 stopped by SIGTERM',
};

/**
 * "Exit status:" and one line per code, e.g. `exitHelp(0, 2)`; '1s', '1c', '4c' pick a command's own wording.
 * Commands with `--json` (all but init) add how errors look in JSON.
 */
export function exitHelp(...codes: (number | string)[]): string {
  return exitLines(codes) + JSON_ERROR_NOTE;
}

/** {@link exitHelp} for a command without `--json`. */
export function exitHelpPlain(...codes: (number | string)[]): string {
  return exitLines(codes);
}

function exitLines(codes: readonly (number | string)[]): string {
  return `\nExit status:\n${codes.map((code) => `  ${EXIT_LINES[String(code)] ?? String(code)}`).join('\n')}`;
}

const JSON_ERROR_NOTE = `
With --json, exit 2, 3 or 4 also prints {"error":{"exitCode":N,"message":"…"}} on stdout.`;

export const TOP_HELP = `
Examples:
  $ ${NAME} init my-analytics                   a starter config and collectors folder
  $ ${NAME} check                               will tonight's run work? config, collectors, locations
  $ ${NAME} check --ship                        … and a test request to the ingress with the real credentials
  $ ${NAME} gather                              dry run: tarballs in ./analytics-out, their paths on stdout
  $ ${NAME} gather --ship                       upload them; the next run continues from the state
  $ ${NAME} list                                the collectors a gather would run, in order
  $ ${NAME} inspect analytics-out/*.tar.gz      what tarballs hold
  $ ${NAME} <command> --help                    flags, examples and exit statuses of one command

stdout carries the result (paths, or JSON with --json); stderr carries logs, progress and the summary.
Logs are JSON lines unless stderr is a terminal. Secrets come from ANALYTICS_USERNAME, ANALYTICS_PASSWORD,
ANALYTICS_CLIENT_ID, ANALYTICS_CLIENT_SECRET, ANALYTICS_TOKEN, ANALYTICS_IDENTITY; ANALYTICS_PG_URL sets
coordination.postgres. NO_COLOR turns colours off; CI (or --quiet) turns the progress line off.
${exitHelp(0, 1, 2, 3, 4, 130)}`;

export const GATHER_HELP = `
Examples:
  $ ${NAME} gather                                  dry run of the window since the last shipped run
  $ ${NAME} gather --since 2026-11-01 --json        from Nov 1 (UTC) to now; one JSON document on stdout
  $ ${NAME} gather --since "2026-11-30 10:00" --until 2026-12-01T12:00:00Z
  $ ${NAME} gather --only host,events               just these collectors (config always runs)
  $ ${NAME} gather --collectors ./my-collectors --output /tmp/out --verbose
  $ ${NAME} gather --ship                           upload, then advance the state
  $ ${NAME} gather --ship --keep                    upload, and keep the tarballs on disk as well
  $ ${NAME} gather --ship --quiet > /dev/null       for cron: silent unless something fails

Without --ship nothing is uploaded and the state is only read. A window longer than 4 weeks is cut to 4 weeks.
DATE is ISO 8601 (2026-11-01, 2026-11-01T12:00:00+02:00, or with a space: "2026-11-01 12:00"); without an
offset it is UTC. -v also says which config file was used.
On a terminal a progress line shows the collectors running, tarballs written, shipped and waiting to upload;
it is off with --quiet, when CI is set, or when stderr is not a terminal.
${exitHelp(0, 1, 2, 3, 4, 130)}`;

export const SHIP_HELP = `
Examples:
  $ ${NAME} ship analytics-out/failed/*.tar.gz      retry tarballs a gather --ship kept as failed
  $ ${NAME} ship analytics-out/failed/*.tar.gz --delete
                                                    … and delete each one the ingress accepted
  $ ${NAME} ship x.tar.gz --config /etc/analytics/analytics.config.json --json

Uploads by the same rules as gather --ship (auth, retries, upload guard). Without --delete the files are
never deleted or moved (run it twice and they are sent twice); the state and the lock are not touched.
stdout lists the tarballs that were accepted.
${exitHelp(0, '1s', 2, 4, 130)}`;

export const LIST_HELP = `
Examples:
  $ ${NAME} list
  $ ${NAME} list --collectors ./my-collectors --json

Loading the collectors checks them: a module that fails to load, a duplicate or reserved key, or a missing
config collector is reported here (exit 2) just as gather would.
${exitHelp(0, 2)}`;

export const INSPECT_HELP = `
Examples:
  $ ${NAME} inspect analytics-out/analytics-2026-11-28-013306+0000-0.tar.gz
  $ ${NAME} inspect analytics-out/*-0.tar.gz --json         one JSON array, an entry per tarball
  $ ${NAME} inspect analytics-out/failed/x-3.tar.gz --cat events.csv | head
                                                            one member's bytes on stdout

A tarball is read as a stream: members are never unpacked to disk or held in memory; --cat streams the
member. A manifest.json or data_collection_status.csv over 16 MiB is refused (exit 2).
${exitHelp(0, 2)}`;

export const STATE_HELP = `
Examples:
  $ ${NAME} state
  $ ${NAME} state --config /etc/analytics/analytics.config.json --json
  $ ${NAME} state set events 2026-11-20            the next run gathers events from Nov 20 (UTC)
  $ ${NAME} state set events "2026-11-20 06:00"
  $ ${NAME} state reset events                     forget events (and events_full): 4 weeks back next time

The state is written by gather --ship, and by state set / state reset: under the run's lock (exit 3 while a
gather runs), atomically. With coordination.postgres (or ANALYTICS_PG_URL) it lives in the database table
instead of the JSON file.
${exitHelp(0, 2, 3)}`;

export const CHECK_HELP = `
Examples:
  $ ${NAME} check                                   config, collectors, locations, lock: nothing is gathered
  $ ${NAME} check --ship                            … and a test request to the ingress (nothing is stored)
  $ ${NAME} check --ship --json | jq .ship

Prints each effective setting with where it came from (flag, environment, file, packager, default; secrets
as ***), the config file used, every collector and every skipped file of the collectors folder with the
reason, whether output, tmpDir and the state can be written, and who holds the lock (not an error).
${exitHelp(0, '1c', 2, '4c')}`;

export const INIT_HELP = `
Examples:
  $ ${NAME} init                                    into the current directory
  $ ${NAME} init my-analytics && cd my-analytics && ${NAME} check && ${NAME} gather

Writes analytics.config.json, collectors/config.ts and collectors/example.ts; if any of them exists,
writes nothing (exit 2). The collectors import 'analytics-collect', which resolves to this CLI: no
npm install is needed in DIR.
${exitHelpPlain(0, 2)}`;

export const HISTORY_HELP = `
Examples:
  $ ${NAME} history                                 the last 20 runs, newest first
  $ ${NAME} history --limit 5 --json                one JSON array of history entries

Every gather, ship and state set|reset adds one entry, however it ends (historyFile, default history.jsonl
beside the state file; with coordination.postgres the table <coordination.table>_history). The newest
historyKeep (default 200) are kept.
${exitHelp(0, 2)}`;

export const STATUS_HELP = `
Examples:
  $ ${NAME} status                                  healthy unless the last gather --ship exited non-zero
  $ ${NAME} status --max-age 26h                    … or none succeeded in 26 h, or a key lags more than 26 h
  $ ${NAME} status --json | jq .reasons

For Nagios-style checks and systemd (ExecStartPost=${NAME} status --max-age 26h). It only reads the
history, the state, <output>/failed/ and the lock: it never takes the lock, so it runs while a gather does.
Exit status:
  0    healthy
  1    unhealthy: the reasons are printed (the last ship run exited non-zero, 130/143 included; with
       --max-age, no successful gather --ship within it, or a key lagging more)
  2    usage or configuration error (bad --max-age, config, damaged state)`;

export const TRACK_HELP = `
Examples:
  $ ${NAME} track 0a3b7c9e1f2d4e5f                  what the ingress did with that upload
  $ ${NAME} track --last                            the request ids of the newest run that has any
  $ ${NAME} track --last --json | jq '.results[].status'

GET <ship.trackUrl>/<id> with the shipping auth, TLS, CA and proxy. ship.trackUrl defaults to ship.url with
its last path segment "upload" replaced by "track".
Exit status:
  0    every id was answered 200
  1    an id was not answered 200 (404 unknown id, 401 credentials, no answer within ship.timeoutMs)
  2    usage or configuration error (no ids and no --last, no request ids in the history, config)
  4    no track URL: ship.url does not end in /upload and ship.trackUrl is not set`;
