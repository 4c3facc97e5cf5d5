/**
 * Child process for the lock tests: a second "node" of a cluster. Takes the pgLocker lock named in argv[2] and
 * prints JSON lines: {"event":"locked"} or {"event":"error","code","message"}; on stdin "release" it releases,
 * prints {"event":"released"} and exits.
 */
import { createInterface } from 'node:readline';
import { AppError } from '../../src/errors.js';
import { pgLocker } from '../../src/postgres/lock.js';

const say = (event: object): void => void process.stdout.write(`${JSON.stringify(event)}\n`);
const lockName = process.argv[2] ?? 'analytics-collect';
const connectionString = process.env['LOCK_CHILD_PG_URL'] ?? 'postgresql://root@127.0.0.1:5432/test';

try {
  const held = await pgLocker({ connectionString, lockName }).acquire();
  say({ event: 'locked' });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === 'release') break;
  }
  await held.release();
  say({ event: 'released' });
} catch (err) {
  say({ event: 'error', code: err instanceof AppError ? err.code : 'UNEXPECTED', message: err instanceof Error ? err.message : String(err) });
}
process.stdin.destroy();
