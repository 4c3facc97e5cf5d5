/**
 * State safety (contract §4): the state file is replaced atomically, so a process killed with SIGKILL at any
 * moment of a write leaves the old or the new state — never a torn, empty or unparsable file. A child process
 * writes the state in a loop with the real file store; the test kills it at random moments, many times.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { fileStateStore } from '../../src/state/file-store.js';

/** State entries inherit nothing (null prototype); compared here as a plain object. */
const plainState = <T extends { entries: object }>(state: T): T => ({ ...state, entries: { ...state.entries } });

const WRITER = resolve(dirname(fileURLToPath(import.meta.url)), '../helpers/fault-state-writer.ts');
const LANES = 4;
const KILLS_PER_LANE = 4;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ac-fault-state-'));
});
after(() => rm(root, { recursive: true, force: true }));

/**
 * Starts a writer at state `first`, lets it acknowledge `acks` writes (a random number), kills it with SIGKILL
 * right then — somewhere in a later write — and returns the last acknowledged number.
 */
async function writeAndKill(path: string, first: number, acks: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  let last = first - 1;
  for await (const line of createInterface({ input: child.stdout })) {
    last = Number(line);
    if (last - first + 1 >= acks) {
      child.kill('SIGKILL');
      break;
    }
  }
  const [code, signal] = await exited;
  assert.equal(signal, 'SIGKILL', `the writer died by itself (exit ${code})`);
  return last;
}

describe('state file under SIGKILL', () => {
  it(`is always the old or the new state (${LANES * KILLS_PER_LANE} kills at random moments)`, { timeout: 60_000 }, async () => {
    // allSettled: a failing lane must not leave the others writing while the directory is removed.
    const lanes = await Promise.allSettled(
      Array.from({ length: LANES }, async (_, lane) => {
        const path = join(root, `lane${lane}`, 'state.json');
        const store = fileStateStore(path);
        let next = 1;
        for (let kill = 0; kill < KILLS_PER_LANE; kill++) {
          const acked = await writeAndKill(path, next, 1 + Math.floor(Math.random() * 40));
          // Never torn: the store parses it (it throws on anything damaged).
          const state = await store.read();
          const n = state.lastGather!.getTime() / 1000;
          // The writer may have finished a few more writes between its line and the kill; never fewer.
          assert.ok(Number.isInteger(n) && n >= acked, `lane ${lane}: found state ${n} after the writer acknowledged ${acked}`);
          assert.equal(Object.keys(state.entries).length, 200);
          assert.ok(Object.values(state.entries).every((d) => d.getTime() === n * 1000), 'one state, not a mix of two');
          next = n + 1;
        }
        // A temporary file left by a kill is harmless: the next write still works and replaces the state.
        const leftovers = (await readdir(dirname(path))).filter((name) => name.endsWith('.tmp'));
        await store.write({ version: 1, lastGather: new Date(0), entries: {} });
        assert.deepEqual(plainState(await store.read()), { version: 1, lastGather: new Date(0), entries: {} });
        assert.ok(leftovers.length <= KILLS_PER_LANE);
      }),
    );
    for (const lane of lanes) if (lane.status === 'rejected') throw lane.reason;
  });
});
