/**
 * Helpers for tests against a real PostgreSQL server (contract §8). The server comes from ANALYTICS_TEST_PG_URL,
 * default postgresql://root@127.0.0.1:5432/test. When it cannot be reached the tests are skipped with the reason —
 * except under CI=true, where they run and fail.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const PG_URL = process.env['ANALYTICS_TEST_PG_URL'] ?? 'postgresql://root@127.0.0.1:5432/test';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Why PostgreSQL tests cannot run here, or false when they must run (server reachable, or CI=true). */
export async function pgSkipReason(): Promise<string | false> {
  if (process.env['CI'] === 'true') return false;
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return false;
  } catch (err) {
    return `PostgreSQL not reachable at ${PG_URL.replace(/\/\/[^@/]*@/, '//')} (${(err as Error).message}); set ANALYTICS_TEST_PG_URL or start it (.ci/postgres.sh)`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A name no other test (or parallel run) uses: `<prefix>_<pid>_<random>`, a valid unquoted identifier. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Runs `work` with a fresh connected client and closes it afterwards. */
export async function withPg<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** One JSON line the lock child prints. */
export interface LockChildEvent {
  event: 'locked' | 'released' | 'error';
  code?: string;
  message?: string;
}

/**
 * A separate `node` process holding (or failing to take) a pgLocker lock: a second node of a cluster. It prints
 * one JSON line per event; write `release` to its stdin to release the lock and exit.
 */
export class LockChild {
  readonly process: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(lockName: string, connectionString = PG_URL) {
    this.process = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'pg-lock-child.ts'), lockName], {
      cwd: ROOT,
      env: { ...process.env, LOCK_CHILD_PG_URL: connectionString },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.lines = createInterface({ input: this.process.stdout })[Symbol.asyncIterator]();
    let stderr = '';
    this.process.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    this.exited = once(this.process, 'exit').then(([code, signal]) => {
      if (code !== 0 && signal === null && stderr !== '') process.stderr.write(`lock child stderr: ${stderr}\n`);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** The next event line; fails if the child exits first. */
  async next(): Promise<LockChildEvent> {
    const line = await this.lines.next();
    if (line.done === true) throw new Error(`lock child ${this.process.pid} exited without printing an event`);
    return JSON.parse(line.value) as LockChildEvent;
  }

  async release(): Promise<LockChildEvent> {
    this.process.stdin.write('release\n');
    return this.next();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.process.kill(signal);
    return this.exited;
  }
}
