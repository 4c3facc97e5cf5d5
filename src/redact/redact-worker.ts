/**
 * The redaction thread's entry (see off-thread.ts): redacts the CSV files it is sent, one after another, with
 * the same code as the main thread ({@link redactCsvFile}), and tells the main thread how much of each output
 * file is final as it is written, of each one as it is complete, then of the result or the failure. The input is
 * read with blocking reads: this thread has nothing else to do meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { dirname } from 'node:path';
import { watchFinishedFiles } from '../collect/finished.js';
import { setRunFlags } from '../memory.js';
import { redactCsvFile } from './csv.js';
import { Hmac32 } from './hmac.js';
import type { ToThread, FromThread, ThreadJob } from './off-thread.js';

// Starting a thread puts V8's flags back to their defaults: the heap stays lean, as in the main thread
// (bin/analytics-collect, src/memory.ts), for this thread's heap and the main one's.
setRunFlags();

const port = parentPort;
if (port === null) throw new Error('redact-worker.js runs as a worker thread');

const aborts = new Map<number, AbortController>();
/** One file at a time, in the order sent: the first finished is the first deflated. */
let tail: Promise<void> = Promise.resolve();
const hmacs = new Map<string, Hmac32>();

port.on('message', (message: ToThread) => {
  if (message.type === 'abort') {
    aborts.get(message.id)?.abort(new Error('redaction stopped'));
    return;
  }
  const controller = new AbortController();
  aborts.set(message.id, controller);
  tail = tail.then(() => run(message.id, message.job, controller.signal));
});

async function run(id: number, job: ThreadJob, signal: AbortSignal): Promise<void> {
  const send = (message: FromThread): void => port!.postMessage(message);
  const unwatch = watchFinishedFiles(
    dirname(job.target),
    (file, size) => send({ type: 'finished', id, file, size }),
    (file, size) => send({ type: 'grown', id, file, size }),
  );
  try {
    signal.throwIfAborted();
    const result = await redactCsvFile({
      source: job.source, target: job.target, maxFileSize: job.maxFileSize, rules: job.rules, hmac: hmacFor(job.hmacKey), key: job.key, where: job.where, signal, blocking: true,
      ...(job.readChunk === undefined ? {} : { readChunk: job.readChunk }),
    });
    send({ type: 'done', id, result });
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    send({ type: 'failed', id, name: error.name, message: error.message });
  } finally {
    unwatch();
    aborts.delete(id);
  }
}

/** The hash of a key, made once (its key blocks are compressed when it is made). */
function hmacFor(key: string | null): Hmac32 | null {
  if (key === null) return null;
  let hmac = hmacs.get(key);
  if (hmac === undefined) {
    if (hmacs.size > 4) hmacs.clear();
    hmac = new Hmac32(key);
    hmacs.set(key, hmac);
  }
  return hmac;
}
