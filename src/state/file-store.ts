/**
 * The default state store: a JSON file (contract §4), written atomically.
 *
 * A damaged state is an error, never a reset: resetting would silently re-gather (or skip) up to four weeks.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KEY_PATTERN } from '../collect/register.js';
import { AppError, messageOf, usageError } from '../errors.js';
import type { State, StateStore } from '../types.js';
import { parseIsoDate } from './window.js';

/** A state with nothing gathered yet. */
export const emptyState = (): State => ({ version: 1, lastGather: null, entries: {} });

const DEFAULT_ADVICE = 'restore it from a backup, or move it aside to start afresh (the next run then gathers up to 4 weeks back)';

/**
 * Parses and validates a serialised state.
 *
 * @param name what the text came from, for messages, e.g. `state file /var/lib/x/state.json`.
 * @param advice what the user should do about a damaged state; defaults to advice for a file.
 * @throws AppError('USAGE') naming `name` and saying what is wrong and what to do.
 */
export function parseState(text: string, name: string, advice = DEFAULT_ADVICE): State {
  const damaged = (problem: string, cause?: unknown) => usageError(`${name} is damaged: ${problem}; ${advice}`, cause);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw damaged(text.trim() === '' ? 'it is empty' : `it is not valid JSON (${messageOf(err)})`, err);
  }
  if (!isPlainObject(data)) throw damaged('it is not a JSON object');
  if (data.version === undefined) throw damaged('"version" is missing');
  if (data.version !== 1) throw damaged(`"version" is ${JSON.stringify(data.version)}, this release reads version 1`);
  for (const field of Object.keys(data)) {
    if (!['version', 'lastGather', 'entries'].includes(field)) throw damaged(`it has an unknown field "${field}"`);
  }

  const date = (value: unknown, where: string): Date => {
    const parsed = typeof value === 'string' ? parseIsoDate(value) : null;
    if (!(parsed instanceof Date)) throw damaged(`${where} is ${JSON.stringify(value) ?? 'missing'}, not an ISO 8601 date`);
    return parsed;
  };
  if (!('lastGather' in data)) throw damaged('"lastGather" is missing');
  const lastGather = data.lastGather === null ? null : date(data.lastGather, '"lastGather"');
  if (!isPlainObject(data.entries)) throw damaged('"entries" is not an object of key → ISO date');
  const entries: Record<string, Date> = {};
  for (const [key, value] of Object.entries(data.entries)) {
    // Also keeps "__proto__" and friends out of a plain object.
    if (!KEY_PATTERN.test(key)) throw damaged(`"entries" has the key ${JSON.stringify(key)}, which is no collector key`);
    entries[key] = date(value, `entries["${key}"]`);
  }
  return { version: 1, lastGather, entries };
}

/** Serialises a state as stable, readable JSON (keys sorted), ending with a newline. */
export function serializeState(state: State): string {
  const entries: Record<string, string> = {};
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
async function writeAtomically(path: string, text: string): Promise<void> {
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
