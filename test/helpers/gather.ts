/**
 * Helpers for pipeline tests: a temp workspace, an in-memory state store, running gather() in-process, and
 * unpacking tarballs with the real `tar`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ResolvedConfig } from '../../src/config/types.js';
import { gather, type GatherOptions, type GatherReport } from '../../src/gather.js';
import { loadCollectors } from '../../src/collect/load.js';
import type { State, StateStore } from '../../src/types.js';
import { makeShipConfig } from './ingress.js';

export interface Workspace {
  dir: string;
  collectors: string;
  output: string;
  tmp: string;
  config(overrides?: Partial<ResolvedConfig>): ResolvedConfig;
  write(name: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A resolved configuration for in-process runs in `dir` (the defaults of the contract, gzip level and data size
 * aside, with `collectors/`, `out/`, `tmp/`, `state.json` and `history.jsonl` under `dir`), then `overrides`.
 */
export function testConfig(dir: string, overrides: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return {
    configFile: null,
    collectors: join(dir, 'collectors'),
    output: join(dir, 'out'),
    stateFile: join(dir, 'state.json'),
    tmpDir: join(dir, 'tmp'),
    maxDataSize: 209715200,
    gzipLevel: 6,
    collectorTimeoutMs: 60_000,
    concurrency: 4,
    lockStaleMs: 600_000,
    historyFile: join(dir, 'history.jsonl'),
    historyKeep: 200,
    metricsFile: null,
    redact: null,
    packager: null,
    ship: makeShipConfig(),
    coordination: { lockName: 'analytics-collect', table: 'analytics_collect_state', timeoutMs: 30_000 },
    ...overrides,
  };
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'ac-test-'));
  const collectors = join(dir, 'collectors');
  const output = join(dir, 'out');
  const tmp = join(dir, 'tmp');
  await mkdir(collectors);
  return {
    dir,
    collectors,
    output,
    tmp,
    config: (overrides = {}) => testConfig(dir, { collectors, output, tmpDir: tmp, stateFile: join(dir, 'state.json'), ...overrides }),
    write: async (name, text) => {
      const path = join(collectors, name);
      await writeFile(path, text);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A state store in memory, recording writes. */
export function memoryStore(initial?: State): StateStore & { current: State; writes: number } {
  const store = {
    current: initial ?? { version: 1 as const, lastGather: null, entries: {} },
    writes: 0,
    read: async () => structuredClone(store.current),
    write: async (state: State) => {
      store.current = structuredClone(state);
      store.writes++;
    },
    describe: () => 'memory',
  };
  return store;
}

export const silentLogger = pino({ level: 'silent' });

/** Loads the workspace's collectors and runs a gather with sensible test defaults. */
export async function runGather(ws: Workspace, options: Partial<GatherOptions> & { config?: ResolvedConfig } = {}): Promise<GatherReport> {
  return gather({
    config: options.config ?? ws.config(),
    collectors: options.collectors ?? (await loadCollectors(ws.collectors)),
    mode: 'dry-run',
    store: memoryStore(),
    logger: silentLogger,
    signal: new AbortController().signal,
    now: () => new Date('2026-11-28T01:33:06.000Z'),
    ...options,
  });
}

export interface Unpacked {
  /** Entry names as tar lists them, in order (e.g. `./config.json`). */
  entries: string[];
  files: Record<string, Buffer>;
}

/** Unpacks a tarball with the real tar CLI. */
export async function unpack(path: string): Promise<Unpacked> {
  const entries = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const dir = await mkdtemp(join(tmpdir(), 'ac-unpack-'));
  try {
    execFileSync('tar', ['-xzf', path, '-C', dir]);
    const files: Record<string, Buffer> = {};
    for (const name of await readdir(dir)) files[name] = await readFile(join(dir, name));
    return { entries, files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The path of this checkout's src/index.ts, for collector files that want to import it explicitly. */
export const SRC_INDEX = new URL('../../src/index.ts', import.meta.url).href;

/** A collector module that writes `count` CSV files of `size` bytes each for `key`. */
export function csvCollectorSource(exportName: string, key: string, count: number, size: number, options = ''): string {
  return `
export const ${exportName} = register({ key: '${key}', version: '1.0', format: 'csv'${options} }, async (ctx) => {
  const { writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const files = [];
  for (let i = 0; i < ${count}; i++) {
    const file = join(ctx.outputDir, '${key}-' + i + '.csv');
    await writeFile(file, 'x'.repeat(${size} - 1) + '\\n');
    files.push(file);
  }
  return files;
});
`;
}
