/**
 * The default state store: a JSON file (contract §4), written atomically.
 *
 * A damaged state is an error, never a reset: resetting would silently re-gather (or skip) up to four weeks.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, readlink, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KEY_PATTERN } from '../collect/register.js';
import { AppError, messageOf, usageError } from '../errors.js';
import type { State, StateStore } from '../types.js';
import { parseIsoDate } from './window.js';

/** The longest entry key: a collector key (at most 100 characters, §2) plus `_full`. */
const MAX_KEY_LENGTH = 105;
/**
 * An entry key: a collector key, `<key>_full`, or any other name without path characters. Names like
 * `__proto__` or `constructor` are plain keys of a `keyRecord` (nothing is inherited), so they round-trip.
 */
const ENTRY_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A record indexed by collector key that inherits nothing: `constructor` or `toString` are keys like any other. */
export const keyRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** A state with nothing gathered yet. */
export const emptyState = (): State => ({ version: 1, lastGather: null, entries: keyRecord<Date>() });

const DEFAULT_ADVICE = 'restore it from a backup, or move it aside to start afresh (the next run then gathers up to 4 weeks back)';

/** How a value of the state is described in a message: by its JSON type only, never by its content. */
function kind(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string of ${[...value].length} characters`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The reason JSON.parse gave, without the source text V8 quotes ("…", "xyz" is not valid JSON). */
function jsonReason(err: unknown, text: string): string {
  const message = messageOf(err);
  const position = /at position (\d+)/.exec(message);
  let where = '';
  if (position) {
    const before = text.slice(0, Number(position[1])).split('\n');
    where = ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
  }
  // V8 quotes the offending text ("Unexpected token 'x', "…" is not valid JSON"): keep only the reason's words.
  let reason = message.replace(/^(Unexpected token).*$/s, '$1').replace(/\s*in JSON at position \d+.*$/s, '');
  if (/["'`]/.test(reason) || reason.length > 60) reason = 'not valid JSON';
  if (reason === 'Unexpected end of JSON input') reason = 'it ends too early';
  reason = reason.charAt(0).toLowerCase() + reason.slice(1);
  return `it is not valid JSON (${reason}${where})`;
}

/**
 * Parses and validates a serialised state. A UTF-8 byte order mark is allowed. Messages name what is wrong by
 * position, key and type, and never quote the text: the file may be anything (a symbolic link to /etc/shadow).
 *
 * @param name what the text came from, for messages, e.g. `state file /var/lib/x/state.json`.
 * @param advice what the user should do about a damaged state; defaults to advice for a file.
 * @throws AppError('USAGE') naming `name` and saying what is wrong and what to do.
 */
export function parseState(text: string, name: string, advice = DEFAULT_ADVICE): State {
  const damaged = (problem: string, cause?: unknown) => usageError(`${name} is damaged: ${problem}; ${advice}`, cause);
  const body = text.replace(/^\uFEFF/, '');
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    throw damaged(body.trim() === '' ? 'it is empty' : jsonReason(err, body));
  }
  if (!isPlainObject(data)) throw damaged('it is not a JSON object');
  if (data.version === undefined) throw damaged('"version" is missing');
  if (data.version !== 1) {
    const shown = typeof data.version === 'number' && Number.isSafeInteger(data.version) ? String(data.version) : kind(data.version);
    throw damaged(`"version" is ${shown}, this release reads version 1`);
  }
  const unknown = Object.keys(data).filter((field) => !['version', 'lastGather', 'entries'].includes(field));
  if (unknown.length > 0) {
    const shown = unknown.filter((field) => KEY_PATTERN.test(field) && field.length <= 40);
    const names = shown.length === unknown.length ? shown.map((field) => `"${field}"`).join(', ') : `${unknown.length}`;
    throw damaged(`it has ${unknown.length === 1 ? 'an unknown field' : 'unknown fields'} ${names} (only version, lastGather and entries belong there)`);
  }

  const date = (value: unknown, where: string): Date => {
    const parsed = typeof value === 'string' ? parseIsoDate(value) : null;
    if (!(parsed instanceof Date)) throw damaged(`${where} is ${kind(value)}, not an ISO 8601 date`);
    return parsed;
  };
  if (!Object.hasOwn(data, 'lastGather')) throw damaged('"lastGather" is missing');
  const lastGather = data.lastGather === null ? null : date(data.lastGather, '"lastGather"');
  if (!isPlainObject(data.entries)) throw damaged('"entries" is not an object of key → ISO date');
  const entries = keyRecord<Date>();
  let index = 0;
  for (const key of Object.keys(data.entries)) {
    index++;
    // A key that is no key is shown by its position only: it may be anything.
    if (!ENTRY_KEY.test(key) || key.length > MAX_KEY_LENGTH) {
      throw damaged(`"entries" key number ${index} is no collector key (letters, digits, "_", ".", "-", at most 100 characters plus "_full")`);
    }
    entries[key] = date(data.entries[key], `entries["${key}"]`);
  }
  return { version: 1, lastGather, entries };
}

/** How far in the future a position may be before it counts as damage (a clock that was ahead, §4). */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/**
 * Positions more than 5 minutes after `now` (§4): damage, since such a key would silently gather nothing until
 * that date. Kept out of `parseState` so that `state set KEY DATE`, the fix, can still read the state.
 *
 * @throws AppError('USAGE') naming the state, every such key and the fix.
 */
export function checkPositions(state: State, now: Date, name: string): void {
  const limit = now.getTime() + FUTURE_TOLERANCE_MS;
  const future = Object.keys(state.entries)
    .sort()
    .filter((key) => state.entries[key]!.getTime() > limit);
  const problems = future.map((key) => `entries["${key}"] is ${state.entries[key]!.toISOString()}`);
  if (state.lastGather !== null && state.lastGather.getTime() > limit) problems.unshift(`"lastGather" is ${state.lastGather.toISOString()}`);
  if (problems.length === 0) return;
  const example = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const fixes = future.map((key) => `run \`analytics-collect state set ${key} DATE\``);
  if (state.lastGather !== null && state.lastGather.getTime() > limit) fixes.push('edit "lastGather" in the file to a past date (or null)');
  throw usageError(
    `${name} is damaged: ${problems.join(', ')}, more than 5 minutes in the future (a clock that was ahead?); ` +
      `to fix it, ${fixes.join(', ')} (DATE: how far that key really got, e.g. ${example})`,
  );
}

/** Serialises a state as stable, readable JSON (keys sorted), ending with a newline. */
export function serializeState(state: State): string {
  const entries = keyRecord<string>();
  for (const key of Object.keys(state.entries).sort()) entries[key] = state.entries[key]!.toISOString();
  const data = { version: 1, lastGather: state.lastGather === null ? null : state.lastGather.toISOString(), entries };
  return `${JSON.stringify(data, null, 2)}\n`;
}

/**
 * A state store backed by the JSON file at `path` (absolute). A missing file is an empty state; the file and
 * its temporary sibling are created with mode 0600, missing parent directories with 0700.
 */
export function fileStateStore(path: string): StateStore {
  const name = `state file ${path}`;
  return {
    describe: () => path,

    async read(): Promise<State> {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return emptyState();
        throw usageError(`${name} cannot be read (${messageOf(err)}); fix its permissions or set stateFile to another path`, err);
      }
      return parseState(text, name);
    },

    async write(state: State): Promise<void> {
      try {
        await writeAtomically(path, serializeState(state));
      } catch (err) {
        throw new AppError(
          'FAILED',
          `${name} could not be written (${messageOf(err)}); fix the directory's permissions or free space — until it is written, the next run gathers the same windows again`,
          { cause: err },
        );
      }
    },
  };
}

/**
 * Replaces `path` so that readers see the old or the new content, even after a crash: write a temporary file
 * in the same directory (a rename is only atomic within one file system), fsync it, rename it over `path`,
 * then fsync the directory so the rename itself is durable. (write-file-atomic skips that last step.)
 */
async function writeAtomically(linkOrPath: string, text: string): Promise<void> {
  // A state file that is a symbolic link stays one: its target is what gets replaced (§4).
  const path = await linkTarget(linkOrPath);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.chmod(0o600); // the umask can only remove bits; this makes the mode exact whatever it is
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** The file a chain of symbolic links ends at (which may not exist yet); `path` itself when it is no link. */
export async function linkTarget(path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    let stats;
    try {
      stats = await lstat(current);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return current;
      throw err;
    }
    if (!stats.isSymbolicLink()) return current;
    current = resolve(dirname(current), await readlink(current));
  }
  throw Object.assign(new Error(`too many levels of symbolic links at ${path}`), { code: 'ELOOP' });
}

async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; there the rename is as durable as it gets.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
