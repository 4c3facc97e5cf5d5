/**
 * The history as a JSON-lines file (contract §9): one entry per line, oldest first, at most `keep` lines.
 * Each append rewrites the file atomically (temp file in the same directory, fsync, rename) while holding the
 * file's own short lock, mode 0600 like the state: entries name hosts, request ids and error messages.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { withShortLock, type ShortLockOptions } from './lock.js';
import type { HistoryStore } from './types.js';
import { parseEntry } from './parse.js';

export function fileHistoryStore(file: string, options: ShortLockOptions = {}): HistoryStore {
  const path = resolve(file);
  return {
    describe: () => path,

    append: (entry, keep) =>
      withShortLock(
        `${path}.lock`,
        async () => {
          const lines = (await readLines(path)).filter((line) => line.trim() !== '');
          lines.push(JSON.stringify(entry));
          await replaceFile(path, `${lines.slice(-Math.max(1, keep)).join('\n')}\n`);
        },
        options,
      ),

    async list(limit) {
      // Damaged lines (a hand edit, a disk that filled up) are skipped: the history is for reading, not a ledger.
      const entries = (await readLines(path)).flatMap((line) => {
        const entry = parseEntry(line);
        return entry === null ? [] : [entry];
      });
      entries.reverse();
      return limit === undefined ? entries : entries.slice(0, limit);
    },
  };
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).replace(/^\uFEFF/, '').split('\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Writes `text` to a temp file beside `path` (mode 0600), flushes it, renames it over `path`. */
async function replaceFile(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await file.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
