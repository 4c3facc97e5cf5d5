/**
 * How the commands that move data keep their memory down (issue 16: peak RSS ≤ 128 MiB without node flags).
 *
 * - {@link setRunFlags}: V8's young generation stays at its first size (semi-spaces of 1–2 MiB, not 16 MiB),
 *   and the old generation grows by 20 % after a major GC instead of up to 2× or more, so a run that keeps
 *   little but allocates much does not hold tens of MiB of heap it no longer uses.
 * - {@link reclaimPromptly} and {@link dropped}: the Buffers a run lets go of (CSV chunks of 64 KiB, each with a
 *   backing store of its own outside the heap) are freed only when a scavenge finds them dead; their small JS
 *   objects fill the young generation slowly, so megabytes of dead backing stores can wait for it. Every
 *   {@link RECLAIM_BYTES} let go of, a minor GC frees them (about 0.1 ms with semi-spaces of 1 MiB).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes of backing stores given up between two minor GCs forced by {@link dropped}. */
export const RECLAIM_BYTES = 8 * 1024 * 1024;

type Gc = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;
let given = 0;

/**
 * V8's flags for the commands that move data (`gather`, `ship`, `inspect`), which the bin sets before it compiles
 * the CLI (bin/analytics-collect; V8 keys its code cache by its flags, so they must be the same at start and at
 * exit):
 * - a lean heap: the young generation keeps its first size, the old one grows by 20 % after a major GC;
 * - `--no-flush-bytecode`: V8 otherwise drops the bytecode of a function not run during a few major GCs, and a
 *   long run (a big table) then wrote a code cache entry without the start-up code it ran first (a third
 *   smaller), which every later run compiled again. Kept, it costs about 1 MiB.
 * - `--no-parallel-scavenge`: a minor GC of the lean heap's 1 MiB semi-spaces is done by this thread alone. Shared
 *   with V8's helper threads, which run below it (src/threads.ts) beside the deflate jobs, each of the thousands of
 *   minor GCs of a run that writes rows made the JavaScript thread wait for a helper to get a core: bench rows
 *   N = 300, its run-queue wait 1.2–1.3 s instead of 1.8, half the context switches, in 9 alternating pairs
 *   13.3–16.9 s (mean ~14.5) instead of 14.3–16.6 s (~15.3).
 */
export const RUN_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=20', '--no-flush-bytecode', '--no-parallel-scavenge'] as const;

/**
 * Sets {@link RUN_FLAGS}. V8 reads them each time it sizes a space or collects, so setting them at run time takes
 * effect. Starting a worker thread puts V8's flags back to their defaults: call it again once a thread is online
 * (src/redact/off-thread.ts) and in the thread itself (src/redact/redact-worker.ts).
 */
export function setRunFlags(): void {
  for (const flag of RUN_FLAGS) setFlagsFromString(flag);
}

/**
 * Makes {@link dropped} force minor GCs: takes V8's `gc` function (exposed for a moment, for a new context only;
 * user code never sees it). Without it, {@link dropped} does nothing.
 */
export function reclaimPromptly(): void {
  if (gc !== undefined) return;
  setFlagsFromString('--expose-gc');
  try {
    const found: unknown = runInNewContext('gc');
    if (typeof found === 'function') gc = found as Gc;
  } catch {
    // No gc in this V8: buffers are freed by V8's own schedule.
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * Records that `buffers` were given up: counts the bytes of their distinct backing stores, and every
 * {@link RECLAIM_BYTES} forces a minor GC (once {@link reclaimPromptly} was called).
 */
export function dropped(buffers: readonly ArrayBufferView[]): void {
  if (gc === undefined) return;
  for (const store of new Set(buffers.map((b) => b.buffer))) given += store.byteLength;
  if (given < RECLAIM_BYTES) return;
  given = 0;
  gc({ type: 'minor' });
}
