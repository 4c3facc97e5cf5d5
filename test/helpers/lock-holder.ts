/**
 * A separate process that takes the file lock, for tests of the single-run lock across real processes.
 *
 *   node --import tsx test/helpers/lock-holder.ts LOCK_PATH
 *
 * Prints one JSON line on stdout: `{"status":"locked","pid":N}` once it holds the lock (then waits for a line
 * on stdin, releases, prints `{"status":"released"}` and exits 0), or `{"status":"error","code":C,"message":M}`
 * and exits with the error's exit status.
 */
import { createInterface } from 'node:readline';
import { AppError } from '../../src/errors.js';
import { fileLocker } from '../../src/state/lock.js';

const lockPath = process.argv[2];
if (lockPath === undefined) {
  process.stderr.write('usage: lock-holder.ts LOCK_PATH\n');
  process.exit(64);
}
const say = (data: object) => process.stdout.write(`${JSON.stringify(data)}\n`);

try {
  const lock = await fileLocker(lockPath).acquire();
  say({ status: 'locked', pid: process.pid });
  const lines = createInterface({ input: process.stdin });
  // Released on the first line, or when the test closes stdin.
  await new Promise<void>((resolve) => {
    lines.once('line', () => resolve());
    lines.once('close', () => resolve());
  });
  lines.close();
  await lock.release();
  say({ status: 'released' });
} catch (err) {
  const code = err instanceof AppError ? err.code : 'UNEXPECTED';
  say({ status: 'error', code, message: err instanceof Error ? err.message : String(err) });
  process.exitCode = err instanceof AppError ? err.exitCode : 70;
}
