/**
 * Fault tests in-process: the real `gather()` with collectors built by `register()` in the test itself, a
 * temporary directory for output and tmpDir, an in-memory (or real file) state store, and tarballs read back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadedCollector } from '../../src/collect/load.js';
import { register, type CollectorFunction, type CollectorMeta } from '../../src/collect/register.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { gather, type GatherOptions, type GatherReport } from '../../src/gather.js';
import { readTarball } from '../../src/pack/read-tarball.js';
import { testConfig } from './gather.js';
import { captureLogger } from './ingress.js';

/** A fixed clock for in-process runs: the run's `until`. */
export const NOW = new Date('2026-11-28T01:33:06.000Z');

export interface Sandbox {
  dir: string;
  output: string;
  tmp: string;
  config(overrides?: Partial<ResolvedConfig>): ResolvedConfig;
  cleanup(): Promise<void>;
}

export async function sandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'ac-fault-run-'));
  const output = join(dir, 'out');
  const tmp = join(dir, 'tmp');
  return {
    dir,
    output,
    tmp,
    config: (overrides = {}) =>
      testConfig(dir, { output, tmpDir: tmp, stateFile: join(dir, 'state', 'state.json'), maxDataSize: 1024 * 1024, gzipLevel: 1, ...overrides }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A collector as `loadCollectors` would list it. */
export function loaded(meta: CollectorMeta, fn: CollectorFunction, exportName = meta.key): LoadedCollector {
  return { collector: register(meta, fn), file: `/in-process/${exportName}.ts`, exportName };
}

/** The config collector every run needs. */
export const configCollector = (): LoadedCollector =>
  loaded({ key: 'config', version: '1.0', config: true }, () => ({ product: 'fault-test' }));

import { memoryStore } from './gather.js';

export { memoryStore };

export interface RunResult {
  report: GatherReport;
  /** Raw JSON log lines. */
  logs: string[];
}

/** Runs `gather()` in the sandbox: dry run, memory store, capturing logger, fixed clock, unless overridden. */
export async function runGather(
  box: Sandbox,
  collectors: readonly LoadedCollector[],
  options: Partial<Omit<GatherOptions, 'collectors'>> = {},
): Promise<RunResult> {
  const { logger, lines } = captureLogger();
  const report = await gather({
    config: box.config(),
    collectors,
    mode: 'dry-run',
    store: memoryStore(),
    logger: logger,
    signal: new AbortController().signal,
    now: () => NOW,
    ...options,
  });
  return { report, logs: lines };
}

export interface TarballView {
  /** Member names in tar order, without `./`. */
  names: string[];
  /** A member's text. */
  text(name: string): Promise<string>;
  /** `data_collection_status.csv` rows as `{ file_name, status }`, in order. */
  statusRows(): Promise<{ file_name: string; status: string; since: string; until: string }[]>;
  manifest(): Promise<Record<string, string>>;
}

/** Reads a tarball we wrote. */
export async function viewTarball(path: string): Promise<TarballView> {
  const contents = await readTarball(path);
  const text = async (name: string): Promise<string> => (await contents.read(name)).toString('utf8');
  return {
    names: contents.members.map((m) => m.name),
    text,
    statusRows: async () => {
      const [header, ...rows] = (await text('data_collection_status.csv')).trimEnd().split('\n');
      const columns = header!.split(',');
      return rows.map((row) => Object.fromEntries(row.split(',').map((cell, i) => [columns[i]!, cell])) as never);
    },
    manifest: async () => JSON.parse(await text('manifest.json')) as Record<string, string>,
  };
}
