/**
 * A process that writes the state file over and over with the real file store, for the crash test:
 *
 *   node --import tsx test/helpers/fault-state-writer.ts STATE_FILE FIRST
 *
 * Writes state number FIRST, FIRST+1, … (lastGather = n seconds after the epoch, and 200 entries all equal
 * to it, so each write takes a while); after each write has returned it prints `n` on a line. It never stops
 * by itself: the test kills it with SIGKILL at a random moment.
 */
import { fileStateStore } from '../../src/state/file-store.js';
import type { State } from '../../src/types.js';

const [path, first] = process.argv.slice(2);
if (path === undefined || first === undefined) {
  process.stderr.write('usage: fault-state-writer.ts STATE_FILE FIRST\n');
  process.exit(64);
}

/** The state number `n` stands for. */
export function stateNumber(n: number): State {
  const at = new Date(n * 1000);
  const entries: Record<string, Date> = {};
  for (let i = 0; i < 200; i++) entries[`collector_${String(i).padStart(3, '0')}`] = at;
  return { version: 1, lastGather: at, entries };
}

const store = fileStateStore(path);
for (let n = Number(first); ; n++) {
  await store.write(stateNumber(n));
  process.stdout.write(`${n}\n`);
}
