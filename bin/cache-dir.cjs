'use strict';
/**
 * Where analytics-collect keeps what it caches between runs: the compiled TypeScript of collector modules
 * (src/collect/ts-cache.ts) and, in its `v8` folder, the CLI's code cache (bin/analytics-collect). One piece of
 * code for both, in CommonJS so that the bin can use it before the CLI is loaded.
 *
 * `ANALYTICS_CACHE_DIR` sets the folder; `ANALYTICS_CACHE_DIR=off` turns the cache off (null). By default it is
 * `$XDG_CACHE_HOME/analytics-collect/ts` or `~/.cache/analytics-collect/ts`; with no home folder there is none.
 */
function cacheDir(env = process.env) {
  const setting = env.ANALYTICS_CACHE_DIR;
  if (setting === 'off') return null;
  const path = require('node:path');
  if (setting) return setting;
  const base = env.XDG_CACHE_HOME || homeCache();
  return base === null ? null : path.join(base, 'analytics-collect', 'ts');
}

function homeCache() {
  try {
    const home = require('node:os').homedir();
    return home === '' ? null : require('node:path').join(home, '.cache');
  } catch {
    return null;
  }
}

module.exports = { cacheDir };
