/**
 * Where compiled TypeScript of collector modules is kept between runs (start-up time: `list` and `gather` skip
 * loading esbuild and compiling when nothing changed). Entries are keyed by content — a SHA-256 of the compiler's
 * version, its options, the file's path (it is in the source map) and its source — so an edited file simply misses
 * and an old entry is never wrong. The hooks (hooks.ts) read and write the entries; this module only decides where.
 *
 * `ANALYTICS_CACHE_DIR` sets the folder; `ANALYTICS_CACHE_DIR=off` turns the cache off. By default it is
 * `$XDG_CACHE_HOME/analytics-collect/ts` or `~/.cache/analytics-collect/ts` (mode 0700); with no home folder there
 * is no cache (bin/cache-dir.cjs). A cache that cannot be written is silently not used.
 */
import { createRequire } from 'node:module';

/**
 * The folder, or null for none: bin/cache-dir.cjs decides it for this cache and the CLI's code cache alike (the
 * bin uses it before anything else is loaded). src/, dist/ and dist/bundle/ all sit two levels below the package.
 */
export function tsCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const { cacheDir } = createRequire(import.meta.url)('../../bin/cache-dir.cjs') as { cacheDir(env: NodeJS.ProcessEnv): string | null };
  return cacheDir(env);
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
