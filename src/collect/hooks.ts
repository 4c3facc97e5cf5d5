/**
 * Module hooks that make a collectors directory anywhere on disk work without a build or an `npm install`:
 * - `analytics-collect` (and its subpaths) resolve to the running CLI's own copy;
 * - collector files are loaded as ES modules whatever `package.json` surrounds them, TypeScript included.
 *
 * The hooks run on Node's loader thread, so they are registered from a `data:` URL carrying their own source; the
 * URLs they need (our entry points, esbuild) are passed in as `data`.
 */
import { register } from 'node:module';
import { tsCacheDir, tsCacheSalt } from './ts-cache.js';

/** Query marker that tells the hooks a URL is a collector (or packager/config) module to force to ESM. */
export const FORCE_ESM_MARKER = 'analytics-collect-esm';

const HOOKS_SOURCE = `
let data;
export async function initialize(d) { data = d; }
const marker = ${JSON.stringify(FORCE_ESM_MARKER)};
export async function resolve(specifier, context, next) {
  if (specifier === 'analytics-collect') return next(data.self, context);
  if (specifier === 'analytics-collect/postgres') return next(data.postgres, context);
  if (specifier.startsWith('file:') && specifier.includes('?' + marker)) return { url: specifier, format: 'module', shortCircuit: true };
  // Relative imports of a user module (its helpers) are user modules too: ES modules, TypeScript transformed.
  const parent = context.parentURL;
  if (parent && parent.includes('?' + marker) && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const resolved = await resolveRelative(specifier, { ...context, parentURL: parent.slice(0, parent.indexOf('?')) }, next);
    // A helper is the user's own code unless the import went down into a package's node_modules: a collectors
    // folder may itself live under node_modules (a product installed with npm -g), so count, don't search.
    if (resolved.url.startsWith('file:') && !resolved.url.includes('?') && /\\.m?[jt]s$/.test(resolved.url) && packageDepth(resolved.url) <= packageDepth(parent)) {
      return { ...resolved, url: resolved.url + '?' + marker, format: 'module', shortCircuit: true };
    }
    return resolved;
  }
  return next(specifier, context);
}
function packageDepth(url) {
  return url.split('?')[0].split('/node_modules/').length;
}
// TypeScript's way: './x.js' may name './x.ts', './x.mjs' may name './x.mts', and './x' may name './x.ts'.
async function resolveRelative(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'ERR_UNSUPPORTED_DIR_IMPORT') throw err;
    const candidates = specifier.endsWith('.js') ? [specifier.slice(0, -3) + '.ts']
      : specifier.endsWith('.mjs') ? [specifier.slice(0, -4) + '.mts']
      : /\\.[a-z]+$/i.test(specifier) ? []
      : [specifier + '.ts', specifier + '.mts', specifier + '.js', specifier + '/index.ts', specifier + '/index.js'];
    for (const candidate of candidates) {
      try {
        return await next(candidate, context);
      } catch {
        // try the next one
      }
    }
    throw err;
  }
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.includes('?' + marker)) return next(url, context);
  const { readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const path = fileURLToPath(url);
  let source = await readFile(path, 'utf8');
  if (/\\.m?ts$/.test(path)) source = await compile(source, path);
  return { format: 'module', source, shortCircuit: true };
}
// TypeScript → JavaScript with esbuild, through a cache keyed by content (ts-cache.ts): an unchanged file is
// read back instead of loading esbuild and compiling it again.
async function compile(source, path) {
  const { createHash, randomBytes } = await import('node:crypto');
  const { mkdir, readFile, rename, writeFile, rm } = await import('node:fs/promises');
  const key = createHash('sha256').update(data.cacheSalt).update('\\0').update(path).update('\\0').update(source).digest('hex');
  const file = data.cacheDir ? data.cacheDir + '/' + key + '.mjs' : null;
  if (file) {
    try {
      return await readFile(file, 'utf8');
    } catch {
      // not cached yet
    }
  }
  const esbuild = await import(data.esbuild);
  const out = await esbuild.transform(source, {
    loader: 'ts', format: 'esm', target: data.target, sourcemap: 'inline', sourcefile: path,
  });
  if (file) {
    const partial = file + '.' + randomBytes(6).toString('hex') + '.partial';
    try {
      await mkdir(data.cacheDir, { recursive: true, mode: 0o700 });
      await writeFile(partial, out.code, { mode: 0o600, flag: 'wx' });
      await rename(partial, file);
    } catch {
      await rm(partial, { force: true }).catch(() => {});
    }
  }
  return out.code;
}
`;

/** Set to true by the build in the bundled CLI (scripts/build.ts); undefined under tsc's dist/ and under tsx. */
declare const ANALYTICS_COLLECT_BUNDLED: boolean | undefined;

/**
 * The entry points `analytics-collect` and `analytics-collect/postgres` resolve to: the running CLI's own copy,
 * so that a collector's `register()` is the one the loader watches. The bundled CLI has its entry points beside
 * the bundle (dist/bundle/index.js beside cli.cjs); from src/ (run through tsx) they are .ts files; from dist/,
 * .js files.
 */
export function selfUrls(): { self: string; postgres: string } {
  if (typeof ANALYTICS_COLLECT_BUNDLED === 'boolean' && ANALYTICS_COLLECT_BUNDLED) {
    return { self: new URL('./index.js', import.meta.url).href, postgres: new URL('./postgres.js', import.meta.url).href };
  }
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return { self: new URL(`../index${ext}`, import.meta.url).href, postgres: new URL(`../postgres/index${ext}`, import.meta.url).href };
}

let registered = false;

/**
 * What TypeScript is compiled for: the Node running it, so that nothing it supports is rewritten or dropped
 * (for `node20`, esbuild drops the import attributes of `import data from './x.json' with { type: 'json' }`,
 * which Node 20.10 and later require).
 */
export const TARGET = `node${process.versions.node}`;

/** Whether this process loads user modules through the hooks already. */
export const moduleHooksRegistered = (): boolean => registered;

/** Registers the hooks once per process. */
export function ensureModuleHooks(): void {
  if (registered) return;
  registered = true;
  // Stack traces of collector code show TypeScript lines (the hooks compile with inline source maps).
  process.setSourceMapsEnabled(true);
  const { self, postgres } = selfUrls();
  register(`data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`, {
    data: {
      self,
      postgres,
      esbuild: import.meta.resolve('esbuild'),
      cacheDir: tsCacheDir(),
      target: TARGET,
      cacheSalt: tsCacheSalt(`loader ts, format esm, target ${TARGET}, sourcemap inline, sourcefile path`),
    },
  });
}

/** The URL to import a user module with, so that it is loaded as an ES module. */
export function esmUrl(fileUrl: URL): string {
  return `${fileUrl.href}?${FORCE_ESM_MARKER}`;
}
