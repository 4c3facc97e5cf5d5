/**
 * Files a {@link CsvFileSplitter} is writing or has finished, announced while its collector still runs: the run
 * deflates them ahead of time (src/run/ahead.ts), so that compressing a big table overlaps with collecting it.
 * The run watches a collection's `outputDir`; a splitter announces how much of a file is final as it writes it
 * (bytes before the record in progress: a record that turns out not to fit moves to the next file, so only those
 * can still change), and each file it closed for good. An announcement is only a hint: the run uses what it
 * deflated only for a file the collector returned, of the size it was finished at.
 */
import { dirname, resolve } from 'node:path';

type Watcher = (file: string, size: number) => void;

interface Watchers {
  finished: Watcher;
  grown: Watcher | undefined;
}

const watchers = new Map<string, Watchers>();

/**
 * Calls `onFinished` for each file finished directly in `dir`, and `onGrown` as the final part of a file being
 * written there grows, until the returned function is called.
 */
export function watchFinishedFiles(dir: string, onFinished: Watcher, onGrown?: Watcher): () => void {
  const key = resolve(dir);
  const entry: Watchers = { finished: onFinished, grown: onGrown };
  watchers.set(key, entry);
  return () => {
    if (watchers.get(key) === entry) watchers.delete(key);
  };
}

/** Announces that the first `size` bytes of `file`, still being written, will not change. Never throws. */
export function fileGrown(file: string, size: number): void {
  announce('grown', file, size);
}

/** Announces that `file` is complete at `size` bytes and will not be written again. Never throws. */
export function fileFinished(file: string, size: number): void {
  announce('finished', file, size);
}

function announce(kind: keyof Watchers, file: string, size: number): void {
  if (watchers.size === 0) return;
  const watcher = watchers.get(dirname(resolve(file)))?.[kind];
  if (watcher === undefined) return;
  try {
    watcher(file, size);
  } catch {
    // A hint only: without it the file is packed the usual way.
  }
}
