/**
 * Runs a command as a child process and measures it from outside: wall time, peak RSS, CPU time.
 *
 * Peak RSS and CPU come from GNU time (`/usr/bin/time -v`, the kernel's rusage of the waited-for child), which is
 * exact and costs nothing while the child runs. Without it, the child's `VmHWM` (the kernel's own high-water
 * mark) is read from /proc every 10 ms; the last reading before exit can miss a final rise, so it is marked.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';

export interface Measured {
  code: number | null;
  wallSeconds: number;
  peakRssBytes: number;
  userSeconds: number;
  systemSeconds: number;
  /** How peak RSS and CPU were measured. */
  method: 'time -v' | '/proc VmHWM';
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Send stdout to this file instead of capturing it. */
  stdoutFile?: string;
}

let gnuTime: boolean | undefined;

function hasGnuTime(): boolean {
  if (gnuTime === undefined) {
    gnuTime = false;
    if (existsSync(GNU_TIME)) {
      // BusyBox `time` has no -v; GNU time prints "Maximum resident set size".
      const probe = join(tmpdir(), `bench-time-probe-${process.pid}`);
      try {
        const status = spawnSync(GNU_TIME, ['-v', '-o', probe, 'true'], { stdio: 'ignore' }).status;
        gnuTime = status === 0 && readFileSync(probe, 'utf8').includes('Maximum resident set size');
      } catch {
        gnuTime = false;
      } finally {
        rmSync(probe, { force: true });
      }
    }
  }
  return gnuTime;
}

export async function measure(command: string, args: string[], options: MeasureOptions = {}): Promise<Measured> {
  const useTime = hasGnuTime();
  const report = join(tmpdir(), `bench-time-${process.pid}-${Date.now()}.txt`);
  const stdoutFd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'w');
  const [file, argv] = useTime ? [GNU_TIME, ['-v', '-o', report, command, ...args]] : [command, args];
  const started = process.hrtime.bigint();
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  let hwm = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
          hwm = Math.max(hwm, kib * 1024);
        } catch {
          // The child has exited.
        }
      }, 10);
  const code = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', (status) => done(status));
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (poll) clearInterval(poll);
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  let peakRssBytes = hwm;
  let userSeconds = Number.NaN;
  let systemSeconds = Number.NaN;
  if (useTime) {
    const text = await readFile(report, 'utf8');
    rmSync(report, { force: true });
    const field = (name: string): number => Number(new RegExp(`${name}:\\s*([\\d.]+)`).exec(text)?.[1] ?? Number.NaN);
    peakRssBytes = field('Maximum resident set size \\(kbytes\\)') * 1024;
    userSeconds = field('User time \\(seconds\\)');
    systemSeconds = field('System time \\(seconds\\)');
    const exit = /Exit status:\s*(\d+)/.exec(text);
    return {
      code: exit ? Number(exit[1]) : code,
      wallSeconds,
      peakRssBytes,
      userSeconds,
      systemSeconds,
      method: 'time -v',
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  }
  return {
    code,
    wallSeconds,
    peakRssBytes,
    userSeconds,
    systemSeconds,
    method: '/proc VmHWM',
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}
