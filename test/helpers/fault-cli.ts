/**
 * Fault tests at the process level: a throw-away project (collectors, config file, output, tmpDir, state) and
 * the real built CLI (`bin/analytics-collect`, which runs dist/) spawned in it. Readiness is read from the
 * child's stderr (collectors log markers, the CLI logs what it did) or from file-system events — never sleeps.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(REPO, 'bin', 'analytics-collect');

/** Throws a clear error when dist/ is missing: the e2e tests run the built CLI (`npm run build`). */
export function requireBuild(): void {
  if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) {
    throw new Error(`${join(REPO, 'dist')} is missing: run \`npm run build\` before the fault e2e tests`);
  }
}

export interface Project {
  dir: string;
  collectors: string;
  output: string;
  tmp: string;
  stateFile: string;
  lockFile: string;
  configFile: string;
  /** Writes a collector module into the collectors directory. */
  collector(name: string, source: string): Promise<string>;
  /** Rewrites the configuration file (merged over the project's paths; `ship` merged key by key). */
  configure(config: Record<string, unknown>): Promise<void>;
  /** Writes the state file as a previous run would have. */
  writeState(state: { lastGather: string | null; entries: Record<string, string> }): Promise<void>;
  /** The state file parsed, or null when it does not exist. */
  readState(): Promise<{ version: number; lastGather: string | null; entries: Record<string, string> } | null>;
  cleanup(): Promise<void>;
}

/** The config collector every project needs (key `config`). */
export const CONFIG_COLLECTOR = `import { register } from 'analytics-collect';
export const config = register({ key: 'config', version: '1.0', config: true }, async () => ({ product: 'fault-test', version: '1.0.0' }));
`;

/**
 * A project in a fresh temporary directory: `collectors/` (with the config collector as `00-config.mjs`),
 * `analytics.config.json` pointing output to `out/`, tmpDir to `tmp/`, the state to `state/state.json`.
 * Output, tmp and state directories are not created: the CLI creates them.
 */
export async function makeProject(config: Record<string, unknown> = {}): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'ac-fault-'));
  const collectors = join(dir, 'collectors');
  await mkdir(collectors);
  await writeFile(join(collectors, '00-config.mjs'), CONFIG_COLLECTOR);
  const stateFile = join(dir, 'state', 'state.json');
  const configFile = join(dir, 'analytics.config.json');
  const project: Project = {
    dir,
    collectors,
    output: join(dir, 'out'),
    tmp: join(dir, 'tmp'),
    stateFile,
    lockFile: `${stateFile}.lock`,
    configFile,
    collector: async (name, source) => {
      const path = join(collectors, name);
      await writeFile(path, source);
      return path;
    },
    configure: async (overrides) => {
      const { ship, ...rest } = overrides as { ship?: Record<string, unknown> };
      const text = JSON.stringify(
        {
          collectors: './collectors',
          output: './out',
          tmpDir: './tmp',
          stateFile: './state/state.json',
          ...rest,
          ...(ship ? { ship } : {}),
        },
        null,
        2,
      );
      await writeFile(configFile, text);
    },
    writeState: async (state) => {
      await mkdir(dirname(stateFile), { recursive: true, mode: 0o700 });
      await writeFile(stateFile, `${JSON.stringify({ version: 1, ...state }, null, 2)}\n`, { mode: 0o600 });
    },
    readState: async () => {
      try {
        return JSON.parse(await readFile(stateFile, 'utf8')) as Awaited<ReturnType<Project['readState']>>;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  await project.configure(config);
  return project;
}

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr contains `text`; rejects (with stderr) if the process exits first. */
  waitForStderr(text: string | RegExp): Promise<void>;
  /** Exit code (128 + n when killed by a signal the CLI did not handle), with everything it printed. */
  exit: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** An environment with nothing from the outside that could change a run (proxies, ANALYTICS_*, PG). */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', NO_COLOR: '1', ...extra };
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Runs the CLI under this umask (through /bin/sh). */
  umask?: string;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Spawns `analytics-collect <args>`. */
export function runCli(args: readonly string[], options: RunOptions): CliRun {
  const env = options.env ?? cleanEnv();
  const child =
    options.umask === undefined
      ? spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, process.execPath, BIN, ...args], {
          cwd: options.cwd,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stdout = '';
  let stderr = '';
  const waiters: { test: (s: string) => boolean; done: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const waiter of [...waiters]) {
      if (waiter.test(stderr)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done();
      }
    }
  });
  const exit = once(child, 'close').then(([code, signal]) => ({
    code: code ?? 128 + (SIGNAL_NUMBERS[signal as string] ?? 0),
    stdout,
    stderr,
  }));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (text) => {
      const test = (s: string): boolean => (typeof text === 'string' ? s.includes(text) : text.test(s));
      if (test(stderr)) return Promise.resolve();
      return new Promise<void>((resolveWait, reject) => {
        waiters.push({ test, done: resolveWait });
        void exit.then((result) => {
          if (!test(stderr)) reject(new Error(`the CLI exited (${result.code}) before printing ${String(text)}; stderr:\n${stderr}`));
        });
      });
    },
    exit,
  };
}

/** Runs the CLI to its end. */
export async function cli(args: readonly string[], options: RunOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(args, options).exit;
}

/** Every file and directory under `dir`, as paths relative to it (dot files included); [] when it is missing. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names.sort()) {
      const path = join(current, name);
      out.push(relative(dir, path));
      if ((await stat(path)).isDirectory()) await walk(path);
    }
  };
  await walk(dir);
  return out;
}

/** Permission bits of `path`, e.g. 0o600. */
export async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/**
 * Resolves with the name of the first entry of `dir` (which must exist) that `match` accepts, as soon as it
 * appears: a file-system event, no polling loop.
 */
export function whenEntryAppears(dir: string, match: (name: string) => boolean): { appeared: Promise<string>; stop(): void } {
  const watcher = watch(dir);
  const appeared = new Promise<string>((resolveEntry, reject) => {
    watcher.on('change', (_event, name) => {
      const text = name === null ? null : String(name);
      if (text !== null && match(text)) resolveEntry(text);
    });
    watcher.on('error', reject);
    // An entry created before the watcher started.
    void readdir(dir).then((names) => {
      const found = names.find(match);
      if (found !== undefined) resolveEntry(found);
    }, reject);
  });
  void appeared.then(
    () => watcher.close(),
    () => watcher.close(),
  );
  return { appeared, stop: () => watcher.close() };
}

/** A port on 127.0.0.1 with nothing listening (taken, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Midnight UTC, `daysAgo` days before today, as an ISO string (a fixed `--until` in the past). */
export function midnightDaysAgo(daysAgo: number): string {
  const DAY = 86_400_000;
  return new Date(Math.floor(Date.now() / DAY) * DAY - daysAgo * DAY).toISOString();
}

/**
 * The run's exit, or `null` when it is still running after `ms` (then it is killed with SIGKILL). A deadline,
 * not a wait for readiness: for processes that must end on their own and might not.
 */
export async function exitWithin(run: CliRun, ms: number): Promise<{ code: number; stdout: string; stderr: string } | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolveLate) => {
    timer = setTimeout(() => resolveLate(null), ms);
  });
  const result = await Promise.race([run.exit, late]);
  clearTimeout(timer);
  if (result === null) {
    run.child.kill('SIGKILL');
    await run.exit;
  }
  return result;
}
