/**
 * `analytics-collect track [REQUEST_ID...] [--last]` (contract §9): asks the ingress what became of uploads —
 * `GET <ship.trackUrl>/<id>` with the shipping auth, TLS, CA and proxy (the ship stage's own pieces) — and
 * prints each id's `status`, `status_msg` and `date`. Exit 0 when every id was answered 200 (whole, JSON), else 1;
 * exit 4 when no track URL can be derived. Answers are read within ship.timeoutMs and to 1 MiB, like the shipper's.
 */
import type { ShipConfig } from '../../config/types.js';
import { AppError, messageOf, usageError } from '../../errors.js';
import { historyStore } from '../../history/index.js';
import { escapeControlLine } from '../../secrets/index.js';
import { bodySnippet } from '../../ship/classify.js';
import { connectIngress } from '../../ship/connection.js';
import { exchange } from '../../ship/exchange.js';
import { CREDENTIAL_MODES, requireShipSettings, validateShipConfig } from '../../ship/settings.js';
import { displayUrl, mayCarryCredentials, parseHttpUrl } from '../../ship/url.js';
import type { Outcome } from '../outcome.js';
import { table, type Output } from '../output.js';
import { setup, type CommonFlags } from '../setup.js';

export interface TrackFlags extends CommonFlags {
  last?: boolean;
}

export interface TrackRow {
  requestId: string;
  /** The HTTP status, or null when no answer came (connection, TLS, timeout). */
  httpStatus: number | null;
  status: string | null;
  statusMsg: string | null;
  date: string | null;
  /** Why there is no tracking answer (not 200, no answer, not JSON); null when answered. */
  error: string | null;
}

export async function trackCommand(ids: string[], flags: TrackFlags, out: Output, signal: AbortSignal): Promise<Outcome> {
  const { config, version } = await setup(flags, out, { defaultLevel: 'warn' });
  const trackUrl = checkTrackUrl(config.ship);
  const requestIds = flags.last ? await lastRequestIds(config, ids) : ids;
  if (requestIds.length === 0) throw usageError('track: give one or more REQUEST_IDs, or --last for those of the newest run in the history');
  const client = trackClient(config.ship, version);
  const rows: TrackRow[] = [];
  for (const id of requestIds) {
    if (signal.aborted) break;
    rows.push(await trackOne(client, trackUrl, id, signal));
  }
  if (flags.json) out.result(JSON.stringify({ trackUrl: displayUrl(trackUrl), results: rows }));
  else out.result(trackTable(rows));
  if (signal.aborted) throw new AppError('INTERRUPTED', 'stopped by a signal');
  // Answered: a whole 200 that says something (one that broke off or is not JSON is no answer to act on).
  return rows.every((r) => r.httpStatus === 200 && r.error === null) ? 'ok' : 'failed';
}

/** The track URL, or exit 4 saying why there is none; unsafe settings are exit 2 as for shipping. */
function checkTrackUrl(ship: ShipConfig): string {
  if (ship.trackUrl === null) {
    const url = ship.url === undefined ? 'ship.url is not set' : `the last path segment of ship.url (${displayUrl(ship.url)}) is not "upload"`;
    throw new AppError('NOT_CONFIGURED', `track: no track URL: ${url}; set ship.trackUrl, e.g. https://ingress.corp/api/ingress/v1/track`);
  }
  const problems = validateShipConfig(ship);
  const parsed = parseHttpUrl(ship.trackUrl);
  if (parsed === null) problems.push(`ship.trackUrl: ${displayUrl(ship.trackUrl)} is not an http(s) URL`);
  else if (CREDENTIAL_MODES.has(ship.auth) && !mayCarryCredentials(parsed)) {
    problems.push(`ship.trackUrl: ship.auth "${ship.auth}" sends credentials, which travel only over https (or plain http to a loopback address)`);
  }
  if (problems.length > 0) throw usageError(problems.join('; '));
  return ship.trackUrl;
}

async function lastRequestIds(config: Parameters<typeof historyStore>[0], given: string[]): Promise<string[]> {
  if (given.length > 0) throw usageError('track: give REQUEST_IDs or --last, not both');
  const newest = (await historyStore(config).list()).find((e) => e.requestIds.length > 0);
  if (newest === undefined) throw usageError('track --last: no run in the history has request ids yet (a gather --ship or ship that uploaded)');
  return newest.requestIds;
}

/** A tracking answer: its status and body (at most MAX_ANSWER_BYTES), and why it broke off (null when whole). */
interface TrackAnswer {
  statusCode: number;
  body: string;
  broken: string | null;
}

interface TrackClient {
  get(url: string, signal: AbortSignal): Promise<TrackAnswer>;
}

/**
 * A GET client with the shipping auth, CA, client certificate and proxy — the ship stage's own parsed settings and
 * connection — bounded like an upload (the whole exchange within ship.timeoutMs, the answer read to 1 MiB).
 */
function trackClient(ship: ShipConfig, version: string): TrackClient {
  const settings = requireShipSettings(ship, { env: process.env, version });
  const { client, auth } = connectIngress(settings);
  return {
    async get(url, signal) {
      const credentials = await auth.headers(signal);
      if (!credentials.ok) throw new Error('error' in credentials.result ? credentials.result.error : 'no credentials');
      const answer = await exchange(client, {
        method: 'GET',
        url,
        headers: { ...settings.headers, ...credentials.headers, accept: 'application/json' },
        timeoutMs: settings.timeoutMs,
        signal,
      });
      if (answer.kind === 'error') throw answer.error;
      return { statusCode: answer.status, body: answer.body.toString('utf8'), broken: answer.kind === 'broken' ? answer.reason : null };
    },
  };
}

async function trackOne(client: TrackClient, trackUrl: string, id: string, signal: AbortSignal): Promise<TrackRow> {
  const row: TrackRow = { requestId: id, httpStatus: null, status: null, statusMsg: null, date: null, error: null };
  let answer: TrackAnswer;
  try {
    answer = await client.get(`${trackUrl.replace(/\/+$/, '')}/${encodeURIComponent(id)}`, signal);
  } catch (err) {
    return { ...row, error: escapeControlLine(messageOf(err)) };
  }
  row.httpStatus = answer.statusCode;
  // Too long, reset or too slow: what came is not the whole answer, and not parsed.
  if (answer.broken !== null) return { ...row, error: `${answer.statusCode}, then the answer broke off: ${escapeControlLine(answer.broken)}` };
  if (answer.statusCode !== 200) {
    const said = bodySnippet(answer.body);
    return { ...row, error: `${answer.statusCode}${said ? `: ${escapeControlLine(said)}` : ''}` };
  }
  try {
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    const text = (value: unknown): string | null => (value === undefined || value === null ? null : escapeControlLine(typeof value === 'string' ? value : JSON.stringify(value)));
    return { ...row, status: text(body.status), statusMsg: text(body.status_msg), date: text(body.date) };
  } catch {
    return { ...row, error: `200 without a JSON body: ${escapeControlLine(bodySnippet(answer.body))}` };
  }
}

export function trackTable(rows: readonly TrackRow[]): string {
  return table(
    ['request id', 'status', 'status_msg', 'date'],
    rows.map((r) => [escapeControlLine(r.requestId), r.error === null ? (r.status ?? '-') : 'not answered', r.error ?? r.statusMsg ?? '-', r.date ?? '-']),
  );
}
