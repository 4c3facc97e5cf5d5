/**
 * `check`'s view of the collectors folder: what the loader skipped, and why (contract §2, §9).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isCollectorFileName } from '../../collect/load.js';

export interface SkippedEntry {
  name: string;
  reason: string;
}

/** Why the loader does not load `name` (a plain file), or null when it does. */
export function skipReason(name: string): string | null {
  if (isCollectorFileName(name)) return null;
  if (name.startsWith('.')) return 'a hidden file';
  if (/\.d\.m?ts$/.test(name)) return 'type declarations (.d.ts)';
  if (/\.test\./.test(name)) return 'a test file (*.test.*)';
  if (/\.c[jt]s$/.test(name)) return 'CommonJS (.cjs/.cts) is not loaded; name it .mjs or .mts';
  if (name.startsWith('_')) return 'its name starts with _ (a helper for other modules, not loaded itself)';
  return 'not a module (.js, .mjs, .ts, .mts are loaded)';
}

/**
 * Every entry of `dir` the loader skipped, by name: files it does not load, subfolders, and loaded modules that
 * export no collector (`loadedFiles` holds the modules that gave at least one).
 */
export async function skippedEntries(dir: string, loadedFiles: ReadonlySet<string>): Promise<SkippedEntry[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const skipped: SkippedEntry[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.isDirectory()) {
      skipped.push({ name: `${entry.name}/`, reason: 'a folder (only files directly in the collectors folder are loaded)' });
      continue;
    }
    const reason = skipReason(entry.name);
    if (reason !== null) skipped.push({ name: entry.name, reason });
    else if (!loadedFiles.has(join(dir, entry.name))) skipped.push({ name: entry.name, reason: 'no register() export: loaded, but it holds no collector' });
  }
  return skipped;
}
