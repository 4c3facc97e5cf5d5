/**
 * Finds and loads the collector modules of a directory (contract §2) and checks them as a set.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { messageOf, usageError } from '../errors.js';
import { isCollector, type Collector } from './register.js';
import { ensureModuleHooks, esmUrl } from './hooks.js';

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

/** Imports a module as an ES module whatever package.json surrounds it; TypeScript needs no build. */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  ensureModuleHooks();
  return (await import(esmUrl(pathToFileURL(file)))) as Record<string, unknown>;
}

/**
 * Loads every collector of `dir`, in order (files by name, then export names), and checks the set:
 * exactly one config collector, unique keys for collectors without slicing. Problems are usage errors (exit 2).
 */
export async function loadCollectors(dir: string): Promise<LoadedCollector[]> {
  const loaded: LoadedCollector[] = [];
  const seen = new Set<Collector>();
  for (const file of await collectorFiles(dir)) {
    let namespace: Record<string, unknown>;
    try {
      namespace = await importUserModule(file);
    } catch (err) {
      throw usageError(`collector module ${file} failed to load: ${messageOf(err)}`, err);
    }
    // A module namespace lists its exports in code-unit order already; sort anyway to state the rule here.
    for (const exportName of Object.keys(namespace).sort()) {
      const value = namespace[exportName];
      if (!isCollector(value) || seen.has(value)) continue;
      seen.add(value);
      loaded.push({ collector: value, file, exportName });
    }
  }
  checkCollectorSet(loaded, dir);
  return loaded;
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
