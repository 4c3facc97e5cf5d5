/**
 * The process's output boundary: every write to stdout and stderr — ours, pino's, a library's, collector code's
 * `console.*` — passes through the redactor before it leaves (contract §5). Installed once, first thing, by
 * the CLI; a library user of `gather()` may install it too.
 *
 * A write is redacted by itself: a secret cut in two by two separate writes is not recognised. Our own output
 * writes whole lines; collector code printing a secret character by character is not defended against.
 */
import { escapeC1 } from './escape.js';
import { redactBytes, redactSecrets } from './registry.js';

type WriteCallback = (err?: Error | null) => void;
type Write = (chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback) => boolean;

const installed = new WeakMap<NodeJS.WritableStream, Write>();

const isTextEncoding = (encoding: unknown): boolean =>
  encoding === undefined || typeof encoding === 'function' || encoding === 'utf8' || encoding === 'utf-8';

/**
 * The chunk with every secret masked; strings stay strings, bytes stay bytes (and byte-exact where nothing
 * matched: `inspect --cat` output). Text also has raw C1 controls escaped (see escapeC1).
 */
export function redactChunk(chunk: unknown, encoding?: unknown): unknown {
  if (typeof chunk === 'string') {
    if (isTextEncoding(encoding)) return escapeC1(redactSecrets(chunk));
    return redactBytes(Buffer.from(chunk, encoding as BufferEncoding));
  }
  if (chunk instanceof Uint8Array) return redactBytes(chunk);
  return chunk;
}

/**
 * Wraps `write` of each stream (default: process.stdout and process.stderr) so that every chunk is redacted.
 * Installing twice is harmless. Returns a function that restores the original `write`s (for tests).
 */
export function installOutputBoundary(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): () => void {
  const mine: NodeJS.WritableStream[] = [];
  for (const stream of streams) {
    if (installed.has(stream)) continue;
    const original = stream.write as Write;
    installed.set(stream, original);
    mine.push(stream);
    const redacting: Write = function (this: unknown, chunk, encoding, callback) {
      const out = redactChunk(chunk, encoding);
      // A string that became bytes (it was in another encoding) loses that encoding argument.
      if (typeof chunk === 'string' && typeof out !== 'string') {
        return original.call(this, out, typeof encoding === 'function' ? encoding : callback);
      }
      return original.call(this, out, encoding, callback);
    };
    (stream as { write: Write }).write = redacting;
  }
  return () => {
    for (const stream of mine) {
      const original = installed.get(stream);
      if (original) (stream as { write: Write }).write = original;
      installed.delete(stream);
    }
  };
}
