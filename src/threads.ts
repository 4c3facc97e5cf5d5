/**
 * Which thread gets a core first during `gather` (Linux). The JavaScript thread runs every collector, formats
 * every row and hands out every deflate job; the other threads of the process — libuv's pool (deflate, file
 * I/O), V8's helpers (garbage collection, compilation), the worker threads (redaction, module hooks) — work for
 * it. On 2 cores, with three deflate jobs at once, the scheduler shared the cores evenly among them all, and a
 * collector writing rows waited ~5 s of a 20 s run for a core while deflate jobs ran (`/proc/<pid>/task/<tid>/
 * schedstat`); the rows then came slower, and deflate waited for them in turn.
 *
 * {@link favourMainThread} sets every other thread {@link HELPER_NICE} nice levels below the JavaScript thread
 * (at most 19). They still take whatever core the JavaScript thread leaves idle, so a run that only deflates
 * (CSV text streamed in) is as fast as before; they yield first, to it and to the rest of the machine.
 * Raising a thread's nice value needs no privilege; on Linux it is a per-thread setting (setpriority with a
 * thread id). Elsewhere this does nothing.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/** How many nice levels the other threads run below the JavaScript thread. */
const HELPER_NICE = 10;
/** The highest nice value (the lowest priority) Linux has. */
const LOWEST = 19;

/** Whether the CLI asked for it: a program using the library keeps its threads as they are. */
let favoured = false;

/**
 * Lowers the priority of every thread of this process but the JavaScript one, as they are now, and of those
 * started later once they run ({@link threadStarted}). For the CLI's `gather` only. Best effort: a thread that
 * ended meanwhile, or a system that refuses, leaves things as they were.
 */
export function favourMainThread(): void {
  favoured = true;
  lowerTheOthers();
}

/** A worker thread of ours runs now (its `online` event): it yields too, if {@link favourMainThread} was called. */
export function threadStarted(): void {
  if (favoured) lowerTheOthers();
}

function lowerTheOthers(): void {
  // Only from the process's own first thread, whose thread id is the process id (not the CLI run in a worker).
  if (process.platform !== 'linux' || !isMainThread) return;
  let tasks: string[];
  let nice: number;
  try {
    tasks = readdirSync('/proc/self/task');
    nice = Math.min(LOWEST, getPriority(process.pid) + HELPER_NICE);
  } catch {
    return;
  }
  for (const task of tasks) {
    const tid = Number(task);
    if (!Number.isSafeInteger(tid) || tid === process.pid) continue;
    try {
      setPriority(tid, nice);
    } catch {
      // ended meanwhile, or not allowed: it keeps its priority
    }
  }
}
