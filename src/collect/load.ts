/**
 * Finds and loads the collector modules of a directory (contract §2) and checks them as a set.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { messageOf, usageError } from '../errors.js';
import { contained, nameUserModule } from './contain.js';
import { directUrls, mayRelocate, relocate } from './direct.js';
import { ensureModuleHooks, esmUrl, moduleHooksRegistered } from './hooks.js';
import { loadFailure } from './load-failure.js';
import { isCollector, recordingDefinitionProblems, type Collector } from './register.js';
import { describeThrown, shownPath } from './where.js';

/** A collector together with where it came from. */
export interface LoadedCollector {
  collector: Collector;
  file: string;
  exportName: string;
}

const LOADABLE = /\.(?:js|mjs|ts|mts)$/;

/** True for a file name the loader picks up. */
export function isCollectorFileName(name: string): boolean {
  if (!LOADABLE.test(name)) return false;
  if (name.startsWith('_') || name.startsWith('.')) return false;
  if (/\.d\.m?ts$/.test(name)) return false;
  if (/\.test\./.test(name)) return false;
  return true;
}

/** Collector file names of `dir`, in plain code-unit order. */
export async function collectorFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw usageError(`cannot read the collectors directory ${dir}: ${messageOf(err)} (set "collectors" in the config or pass --collectors DIR)`);
  }
  const files: string[] = [];
  for (const name of names.filter(isCollectorFileName).sort()) {
    const info = await stat(join(dir, name)).catch(() => null);
    if (info?.isFile()) files.push(join(dir, name));
  }
  return files;
}

/** `collectorTimeoutMs`'s default, for callers that have no configuration. */
export const DEFAULT_LOAD_TIMEOUT_MS = 3_600_000;
/**
 * Loading includes our own work before the module's code runs (starting the loader thread, compiling TypeScript
 * with esbuild), which takes a moment on a busy machine: a load is never timed out sooner than this.
 */
export const MIN_LOAD_TIMEOUT_MS = 5000;

export interface ImportOptions {
  /** Bound on loading (top-level code, `await` included); default 1 hour. */
  timeoutMs?: number;
  /** Who the module is, in messages about it: `collector module a.ts`, `packager p.mjs`. */
  label?: string;
  /** The module relocated for loading without the hooks (direct.ts), when there is one. */
  directUrl?: string;
}

/**
 * Imports a module as an ES module whatever package.json surrounds it; TypeScript needs no build. Its loading is
 * contained (contract §2): bounded by `timeoutMs` (at least MIN_LOAD_TIMEOUT_MS), `process.exit()` and stray errors
 * of its top-level code fail it.
 * Rejects with a one-line reason (`SyntaxError at line 3, column 5: …`, `timed out after …`).
 */
export async function importUserModule(file: string, options: ImportOptions = {}): Promise<Record<string, unknown>> {
  const label = options.label ?? `module ${shownPath(file)}`;
  nameUserModule(file, label);
  if (options.directUrl === undefined) {
    ensureModuleHooks();
  } else {
    // Stack traces show TypeScript lines, as through the hooks (the relocated modules carry inline source maps).
    process.setSourceMapsEnabled(true);
  }
  const url = options.directUrl ?? esmUrl(pathToFileURL(file));
  try {
    return await contained(() => import(url) as Promise<Record<string, unknown>>, {
      label,
      timeoutMs: Math.max(options.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS, MIN_LOAD_TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(await loadFailure(err, file), { cause: err });
  }
}

export interface LoadOptions {
  /** Bound on loading each module (top-level code, `await` included); default 1 hour. */
  timeoutMs?: number;
  /**
   * Load the modules without the module hooks when they were relocated by an earlier run, and relocate them after
   * loading them through the hooks (direct.ts; start-up time of `list` and `gather`).
   */
  direct?: boolean;
}

/**
 * Loads every collector of `dir`, in order (files by name, then export names), and checks the set:
 * exactly one config collector, unique keys for collectors without slicing. Problems are usage errors (exit 2).
 */
export async function loadCollectors(dir: string, options: LoadOptions = {}): Promise<LoadedCollector[]> {
  const loaded: LoadedCollector[] = [];
  const seen = new Set<Collector>();
  const files = await collectorFiles(dir);
  // Loaded through the hooks already (a packager, say): so are the collectors, or a helper would be two modules;
  // relocating them would then be of no use either.
  const mayGoDirect = options.direct === true && !moduleHooksRegistered();
  const direct = mayGoDirect ? directUrls(files) : null;
  let throughHooks = direct === null;
  const load = (file: string, directUrl: string | undefined): Promise<{ value: Record<string, unknown>; problems: string[] }> =>
    recordingDefinitionProblems(() =>
      importUserModule(file, { timeoutMs: options.timeoutMs, label: `collector module ${shownPath(file)}`, ...(directUrl === undefined ? {} : { directUrl }) }),
    );
  // Every module starts loading at once (start-up time: one's file is read while another compiles; `npm run
  // bench -- --io`); each is contained and records its own definition problems. What they gave is taken in
  // file order, and the first one that failed in that order is the one reported.
  const loads = files.map((file) => load(file, direct?.get(file)));
  for (const pending of loads) pending.catch(() => undefined); // each is awaited below, in order
  for (const [i, file] of files.entries()) {
    let namespace: Record<string, unknown>;
    let problems: string[];
    try {
      try {
        ({ value: namespace, problems } = await loads[i]!);
      } catch (err) {
        // A relocated module that could not be linked (a package it imports changed) ran no code: the hooks load
        // it and say why; the modules are relocated again afterwards.
        if (throughHooks || !isLinkError(err)) throw err;
        throughHooks = true;
        ({ value: namespace, problems } = await load(file, undefined));
      }
    } catch (err) {
      throw usageError(`collector module ${file} failed to load: ${describeThrown(err)}`, err);
    }
    if (problems.length === 1) throw usageError(`collector module ${file}: ${problems[0]}`);
    if (problems.length > 1) throw usageError(`collector module ${file} has ${problems.length} problems: ${problems.join('; ')}`);
    // A module namespace lists its exports in code-unit order already; sort anyway to state the rule here.
    for (const exportName of Object.keys(namespace).sort()) {
      const value = namespace[exportName];
      if (!isCollector(value) || seen.has(value)) continue;
      seen.add(value);
      loaded.push({ collector: value, file, exportName });
    }
  }
  if (mayGoDirect && throughHooks && mayRelocate(files)) await relocate(files);
  checkCollectorSet(loaded, dir);
  return loaded;
}

/** An import that failed while linking, before any module code ran: a missing module or export. */
function isLinkError(err: unknown): boolean {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  if (cause instanceof SyntaxError) return /does not provide an export named/.test(cause.message);
  return (cause as { code?: unknown } | null)?.code === 'ERR_MODULE_NOT_FOUND';
}

/** The checks that need every collector at once. */
export function checkCollectorSet(loaded: LoadedCollector[], dir: string): void {
  const configs = loaded.filter((l) => l.collector.config);
  if (configs.length === 0) {
    throw usageError(`no config collector in ${dir}: exactly one collector needs { key: 'config', config: true }`);
  }
  if (configs.length > 1) {
    const where = configs.map((c) => `${c.file} (export ${c.exportName})`).join(' and ');
    throw usageError(`two config collectors: ${where}; keep exactly one`);
  }
  const byKey = new Map<string, LoadedCollector>();
  for (const entry of loaded) {
    const other = byKey.get(entry.collector.key);
    if (other && (other.collector.slicing === undefined || entry.collector.slicing === undefined)) {
      throw usageError(
        `duplicate key "${entry.collector.key}": ${other.file} (export ${other.exportName}) and ${entry.file} ` +
          `(export ${entry.exportName}); only collectors with slicing may share a key`,
      );
    }
    byKey.set(entry.collector.key, entry);
  }
}
