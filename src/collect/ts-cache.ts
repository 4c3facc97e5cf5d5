/**
 * Where compiled TypeScript of collector modules is kept between runs (start-up time: `list` and `gather` skip
 * loading esbuild and compiling when nothing changed). Entries are keyed by content — a SHA-256 of the compiler's
 * version, its options, the file's path (it is in the source map) and its source — so an edited file simply misses
 * and an old entry is never wrong. The hooks (hooks.ts) read and write the entries; this module only decides where.
 *
 * `ANALYTICS_CACHE_DIR` sets the folder; `ANALYTICS_CACHE_DIR=off` turns the cache off. By default it is
 * `$XDG_CACHE_HOME/analytics-collect/ts` or `~/.cache/analytics-collect/ts` (mode 0700); with no home folder there
 * is no cache. A cache that cannot be written is silently not used.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function tsCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const setting = env.ANALYTICS_CACHE_DIR;
  if (setting === 'off') return null;
  if (setting) return setting;
  const base = env.XDG_CACHE_HOME || (safeHome() ? join(safeHome()!, '.cache') : null);
  return base === null ? null : join(base, 'analytics-collect', 'ts');
}

function safeHome(): string | null {
  try {
    const home = homedir();
    return home === '' ? null : home;
  } catch {
    return null;
  }
}

/** What a cache entry depends on besides the file itself: the compiler's version and how it is called. */
export function tsCacheSalt(options: string): string {
  let esbuild = 'unknown';
  try {
    esbuild = (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version;
  } catch {
    // No version: entries are still keyed by the options and the source.
  }
  return `esbuild ${esbuild}; ${options}`;
}
