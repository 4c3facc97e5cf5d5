/**
 * CSV redaction on a thread of its own (redact-worker.ts), beside the main thread: while a collection's files
 * are redacted there, the main thread goes on with the next collection and libuv's pool deflates what is
 * finished. Redacting is CPU work of the same order as collecting, so on the main thread it added its whole time
 * to the run's (`npm run bench -- --redact`, README "Performance"). The thread costs about 10 MiB of memory
 * (a V8 isolate); redacting a file while the collector still writes the next one (tried) put the run's peak
 * above 128 MiB, so a collection's files go to the thread once the collector returned.
 *
 * One thread for the process, started on first use and told one file at a time; it holds the event loop open
 * only while it has work. Output files are announced (src/collect/finished.ts) from the main thread as the
 * thread reports them: how much of a file being written is final (after each flush, every 512 KiB), then each
 * file complete. So the run deflates a redacted file while it is still being redacted — deflate is about two
 * thirds of redaction's CPU, and no longer waits for the end of the file. Where no thread can be started, the
 * file is redacted on the main thread: the same code, the same bytes.
 */
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { fileFinished, fileGrown } from '../collect/finished.js';
import { setRunFlags } from '../memory.js';
import { threadStarted } from '../threads.js';
import { redactCsvFile, type CsvFileResult } from './csv.js';
import { Hmac32 } from './hmac.js';
import { RedactionError, type EffectiveRules } from './types.js';

/** A file to redact, as the thread is told it: the key (a secret) as text, the thread makes its own hash. */
export interface ThreadJob {
  source: string;
  target: string;
  maxFileSize: number;
  rules: EffectiveRules;
  key: string;
  where: string;
  /** The HMAC key; null when no column is hashed. */
  hmacKey: string | null;
  readChunk?: number;
}

export type ToThread = { type: 'job'; id: number; job: ThreadJob } | { type: 'abort'; id: number };

export type FromThread =
  | { type: 'grown'; id: number; file: string; size: number }
  | { type: 'finished'; id: number; file: string; size: number }
  | { type: 'done'; id: number; result: CsvFileResult }
  | { type: 'failed'; id: number; name: string; message: string };

interface Pending {
  resolve: (result: CsvFileResult) => void;
  reject: (err: Error) => void;
}

/** Redacts one CSV file on the redaction thread (see {@link redactCsvFile}; the same result and errors). */
export function redactCsvOffThread(job: ThreadJob, signal?: AbortSignal): Promise<CsvFileResult> {
  const thread = RedactionThread.get();
  if (thread === null) return redactCsvFile({ ...job, hmac: job.hmacKey === null ? null : new Hmac32(job.hmacKey), ...(signal ? { signal } : {}) });
  return thread.run(job, signal);
}

class RedactionThread {
  static #current: RedactionThread | null | undefined;

  /**
   * The thread, started on first use; null when it cannot be (then files are redacted here). worker_threads is
   * loaded only then: it is not part of start-up (scripts/build.ts). By `require`: the bundle is CommonJS run from
   * a code cache, where a dynamic `import()` of our own code has no loader.
   */
  static get(): RedactionThread | null {
    if (RedactionThread.#current === undefined) {
      try {
        const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
        RedactionThread.#current ??= new RedactionThread(startWorker(Worker));
      } catch {
        RedactionThread.#current = null;
      }
    }
    return RedactionThread.#current;
  }

  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#worker.unref();
    // Starting a thread puts V8's flags back to their defaults (src/memory.ts): set them again. The new thread
    // yields the cores to the JavaScript one, as the others do in a CLI run (src/threads.ts).
    this.#worker.once('online', () => {
      setRunFlags();
      threadStarted();
    });
    this.#worker.on('message', (message: FromThread) => this.#onMessage(message));
    this.#worker.on('error', (err) => this.#stopped(err));
    this.#worker.on('exit', (code) => this.#stopped(new Error(`the redaction thread exited (code ${code})`)));
  }

  run(job: ThreadJob, signal?: AbortSignal): Promise<CsvFileResult> {
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const id = this.#next++;
    return new Promise<CsvFileResult>((resolve, reject) => {
      const abort = (): void => this.#worker.postMessage({ type: 'abort', id } satisfies ToThread);
      signal?.addEventListener('abort', abort, { once: true });
      const done = (): void => {
        signal?.removeEventListener('abort', abort);
        this.#pending.delete(id);
        if (this.#pending.size === 0) this.#worker.unref();
      };
      this.#pending.set(id, {
        resolve: (result) => {
          done();
          resolve(result);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      this.#worker.ref();
      this.#worker.postMessage({ type: 'job', id, job } satisfies ToThread);
    });
  }

  #onMessage(message: FromThread): void {
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    if (message.type === 'grown') fileGrown(message.file, message.size);
    else if (message.type === 'finished') fileFinished(message.file, message.size);
    else if (message.type === 'done') pending.resolve(message.result);
    else pending.reject(message.name === 'RedactionError' ? new RedactionError(message.message) : new Error(message.message));
  }

  /** The thread ended or failed: what it had fails, and the next file starts another. */
  #stopped(err: Error): void {
    if (RedactionThread.#current === this) RedactionThread.#current = undefined;
    for (const pending of [...this.#pending.values()]) pending.reject(new Error(`the redaction thread stopped: ${err.message}`));
  }
}

/**
 * The thread, from its entry beside this module: dist/bundle/redact-worker.js in the bundle (scripts/build.ts),
 * dist/redact/redact-worker.js as tsc builds it; from the sources (tests, through tsx), src/redact/redact-worker.ts
 * with tsx registered in the thread first (a thread does not inherit the module hooks of `--import tsx`).
 */
function startWorker(Thread: typeof Worker): Worker {
  const options = { stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 1 } };
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Thread(new URL('./redact-worker.js', here), options);
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./redact-worker.ts', here).href);
  return new Thread(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); });`, { ...options, eval: true });
}
