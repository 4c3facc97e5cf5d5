/**
 * Collector modules loaded without the module hooks (start-up time of `list` and `gather`: Node 20 runs
 * module hooks on a thread of their own, and starting it costs more than the rest of `list` together).
 *
 * After a collectors directory loaded through the hooks, each collector module and its helpers are written once
 * more into the cache (ts-cache.ts), "relocated": compiled, relative imports pointing at the
 * relocated helpers, `analytics-collect` at the running CLI, `import.meta.url` as the hooks give it, and source
 * maps naming the original files (error locations are the same). Bare imports (`better-sqlite3`) stay as written:
 * the relocated files sit in a mirror of the original folders' paths, with a symbolic link for every
 * `node_modules` folder along them, so Node resolves them as from the original folder.
 *
 * The next run imports the relocated modules directly when every source is unchanged (SHA-256), every
 * `node_modules` folder along the way exists or not as before, and the CLI is the same; otherwise it uses the hooks
 * (and relocates again). A graph that cannot be relocated faithfully — `require`,
 * `import.meta.resolve`, an `import()` of a computed name, `#imports`, an import cycle — is recorded as such, and
 * loads through the hooks for as long as its sources stay the same.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, parse, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions, BuildResult } from 'esbuild';
import { esmUrl, selfUrls, TARGET } from './hooks.js';
import { tsCacheDir, tsCacheSalt } from './ts-cache.js';

/** How relocated modules are compiled; part of every graph's key. */
const OPTIONS = `direct 1; loader ts, format esm, target ${TARGET}, sourcemap inline (sources: the original path), bundle one module`;

interface Graph {
  /** The CLI the relocated modules import as `analytics-collect`. */
  self: string;
  postgres: string;
  /** The relocated entry module, or null when the graph cannot be relocated (it loads through the hooks). */
  entry: string | null;
  /** Every user module of the graph with the SHA-256 of its source. */
  modules: { path: string; sha256: string }[];
  /** Every folder along the modules' paths, and whether it had a `node_modules` folder. */
  nodeModules: Record<string, boolean>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function directDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = tsCacheDir(env);
  return dir === null ? null : join(dir, 'direct');
}

function graphFile(dir: string, entry: string): string {
  return join(dir, 'graphs', `${sha256(`${tsCacheSalt(OPTIONS)}\0${entry}`)}.json`);
}

function readGraph(dir: string, entry: string): Graph | null {
  try {
    return JSON.parse(readFileSync(graphFile(dir, entry), 'utf8')) as Graph;
  } catch {
    return null;
  }
}

/**
 * Whether the graph's sources and `node_modules` folders are as they were when it was recorded. `folders` keeps
 * what was found of each folder for the graphs checked together (every collector of a directory shares most of
 * its folders: one look each, not one per collector).
 */
function unchanged(graph: Graph, folders = new Map<string, boolean>()): boolean {
  for (const { path, sha256: expected } of graph.modules) {
    let source: string;
    try {
      source = readFileSync(path, 'utf8');
    } catch {
      return false;
    }
    if (sha256(source) !== expected) return false;
  }
  for (const [folder, had] of Object.entries(graph.nodeModules)) {
    let has = folders.get(folder);
    if (has === undefined) folders.set(folder, (has = isDirectory(join(folder, 'node_modules'))));
    if (has !== had) return false;
  }
  return true;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The relocated entry module of every file, when all of them can be imported without the hooks; else null (then
 * every file loads through the hooks: a helper shared by two collectors must be one module, not two).
 */
export function directUrls(files: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, string> | null {
  const dir = directDir(env);
  if (dir === null || files.length === 0) return null;
  const { self, postgres } = selfUrls();
  const urls = new Map<string, string>();
  const folders = new Map<string, boolean>();
  for (const file of files) {
    const graph = readGraph(dir, file);
    if (graph?.entry == null || graph.self !== self || graph.postgres !== postgres || !existsSync(graph.entry)) return null;
    if (!unchanged(graph, folders)) return null;
    urls.set(file, pathToFileURL(graph.entry).href);
  }
  return urls;
}

/**
 * Whether relocating `files` is worth trying: not when each one's graph is recorded as not relocatable and
 * unchanged (then the attempt would only cost time on every run).
 */
export function mayRelocate(files: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const dir = directDir(env);
  if (dir === null) return false;
  return files.some((file) => {
    const graph = readGraph(dir, file);
    return graph === null || graph.entry !== null || !unchanged(graph);
  });
}

/** Why a graph cannot be relocated faithfully. */
class NotRelocatable extends Error {}

/**
 * Relocates the graph of every file that loaded through the hooks (see the top of this file). Best effort: a cache
 * that cannot be written is not used, and nothing here fails the command.
 */
export async function relocate(files: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = directDir(env);
  if (dir === null) return;
  const esbuild = await import('esbuild');
  const { self, postgres } = selfUrls();
  for (const file of files) {
    const graph: Graph = { self, postgres, entry: null, modules: [], nodeModules: {} };
    try {
      graph.entry = await relocateModule(file, { dir, esbuild, self, postgres, graph, done: new Map(), busy: new Set() });
    } catch (err) {
      if (!(err instanceof NotRelocatable)) return;
      graph.entry = null;
    }
    try {
      await writeAtomically(graphFile(dir, file), JSON.stringify(graph));
    } catch {
      return;
    }
  }
}

interface Relocation {
  dir: string;
  esbuild: typeof import('esbuild');
  self: string;
  postgres: string;
  graph: Graph;
  /** Relocated file by original path. */
  done: Map<string, string>;
  /** Modules being relocated (an import cycle is not relocated). */
  busy: Set<string>;
}

/** Relocates one module (and, first, the user modules it imports); returns the relocated file. */
async function relocateModule(path: string, r: Relocation): Promise<string> {
  const known = r.done.get(path);
  if (known !== undefined) return known;
  if (r.busy.has(path)) throw new NotRelocatable(`import cycle through ${path}`);
  r.busy.add(path);
  const typescript = /\.m?ts$/.test(path);
  const source = await readFile(path, 'utf8');
  r.graph.modules.push({ path, sha256: sha256(source) });
  const url = esmUrl(pathToFileURL(path));
  const options: BuildOptions = {
    stdin: { contents: source, loader: typescript ? 'ts' : 'js', sourcefile: path, resolveDir: dirname(path) },
    bundle: true,
    treeShaking: false,
    write: false,
    format: 'esm',
    platform: 'node',
    target: TARGET,
    sourcemap: 'inline',
    tsconfigRaw: '{}',
    logLevel: 'silent',
    define: {
      'import.meta.url': JSON.stringify(url),
      'import.meta.filename': JSON.stringify(path),
      'import.meta.dirname': JSON.stringify(dirname(path)),
    },
    plugins: [
      {
        name: 'relocate',
        setup(build) {
          build.onResolve({ filter: /.*/ }, async (args) => ({ path: await target(args.path, args.kind, path, r), external: true }));
        },
      },
    ],
  };
  let result: BuildResult<{ write: false }>;
  try {
    result = await r.esbuild.build({ ...options, write: false });
  } catch (err) {
    // A plugin's NotRelocatable, or something only Node's own parser accepts: the hooks load it.
    throw new NotRelocatable(`${path}: ${String(err)}`);
  }
  let text = result.outputFiles[0]!.text;
  // What only the hooks can do faithfully: resolving from the module's own URL at run time, or require().
  if (/\bimport\.meta\b|\b__require\b|\bimport\s*\(\s*[^\s"']/.test(text.replace(/\/\/# sourceMappingURL=.*$/m, ''))) {
    throw new NotRelocatable(`${path} needs the module hooks`);
  }
  // Stack frames name the module as through the hooks: a TypeScript file by its path (the hooks compile it with
  // that source path), a JavaScript one by its URL with the hooks' marker (they load it as it is).
  text = withSourcePath(text, typescript ? path : url);
  const out = join(r.dir, 'tree', ...mirrored(dirname(path)), `${parse(path).base}.${sha256(text).slice(0, 16)}.mjs`);
  if (!existsSync(out)) await writeAtomically(out, text);
  await mirrorNodeModules(dirname(path), r);
  r.busy.delete(path);
  r.done.set(path, out);
  return out;
}

/** Where an import of a relocated module points. */
async function target(specifier: string, kind: string, importer: string, r: Relocation): Promise<string> {
  if (kind !== 'import-statement' && kind !== 'dynamic-import') throw new NotRelocatable(`${kind} in ${importer}`);
  if (specifier === 'analytics-collect') return r.self;
  if (specifier === 'analytics-collect/postgres') return r.postgres;
  if (specifier.startsWith('#')) throw new NotRelocatable(`${specifier} in ${importer}`);
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  const file = await resolveRelative(specifier, dirname(importer));
  if (file === null) throw new NotRelocatable(`${specifier} not found from ${importer}`);
  // The hooks' rule (hooks.ts): a helper is the user's own code unless the import went down into node_modules.
  if (/\.m?[jt]s$/.test(file) && packageDepth(file) <= packageDepth(importer)) return pathToFileURL(await relocateModule(file, r)).href;
  return pathToFileURL(file).href;
}

const packageDepth = (path: string): number => path.split(`${sep}node_modules${sep}`).length;

/** The hooks' resolution of a relative import (Node's, then TypeScript's candidates), as a real path; or null. */
async function resolveRelative(specifier: string, from: string): Promise<string | null> {
  const candidates = [specifier];
  if (specifier.endsWith('.js')) candidates.push(`${specifier.slice(0, -3)}.ts`);
  else if (specifier.endsWith('.mjs')) candidates.push(`${specifier.slice(0, -4)}.mts`);
  else if (!/\.[a-z]+$/i.test(specifier)) candidates.push(`${specifier}.ts`, `${specifier}.mts`, `${specifier}.js`, `${specifier}/index.ts`, `${specifier}/index.js`);
  for (const candidate of candidates) {
    const path = resolve(from, candidate);
    try {
      if ((await lstat(path)).isDirectory()) continue;
      const real = await realpath(path);
      if (statSync(real).isFile()) return real;
    } catch {
      // the next candidate
    }
  }
  return null;
}

/** The source map names the original module (see relocateModule). */
function withSourcePath(text: string, path: string): string {
  return text.replace(/(\/\/# sourceMappingURL=data:application\/json;base64,)(\S+)\s*$/, (_all, prefix: string, data: string) => {
    const map = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { sources: string[] };
    map.sources = map.sources.map(() => path);
    return `${prefix}${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
  });
}

/** `/a/b` → `['a', 'b']`: the mirror of a folder inside tree/. */
const mirrored = (folder: string): string[] => folder.split(sep).filter((part) => part !== '');

/**
 * Links `tree/<folder>/node_modules` to `<folder>/node_modules` for the module's folder and each one above it
 * (and removes a link whose target is gone), recording which existed.
 */
async function mirrorNodeModules(folder: string, r: Relocation): Promise<void> {
  for (let current = folder; ; current = dirname(current)) {
    if (!(current in r.graph.nodeModules)) {
      const real = join(current, 'node_modules');
      const has = isDirectory(real);
      r.graph.nodeModules[current] = has;
      const link = join(r.dir, 'tree', ...mirrored(current), 'node_modules');
      const existing = await readlink(link).catch(() => null);
      if (has && existing !== real) {
        await rm(link, { force: true });
        await mkdir(dirname(link), { recursive: true, mode: 0o700 });
        await symlink(real, link).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
      } else if (!has && existing !== null) {
        await rm(link, { force: true });
      }
    }
    if (dirname(current) === current) return;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.${randomBytes(6).toString('hex')}.partial`;
  try {
    await writeFile(partial, text, { mode: 0o600, flag: 'wx' });
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
