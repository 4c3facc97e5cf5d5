/**
 * Files a {@link CsvFileSplitter} has finished, announced while its collector still runs: the run deflates
 * them ahead of time (src/run/ahead.ts), so that compressing a big table overlaps with collecting the rest of it.
 * The run watches a collection's `outputDir`; a splitter announces each file it closed for good in that
 * directory. An announcement is only a hint: the run uses what it deflated only for a file the collector
 * returned, of the same size.
 */
import { dirname, resolve } from 'node:path';

type Watcher = (file: string, size: number) => void;

const watchers = new Map<string, Watcher>();

/** Calls `onFinished` for each file finished directly in `dir` until the returned function is called. */
export function watchFinishedFiles(dir: string, onFinished: Watcher): () => void {
  const key = resolve(dir);
  watchers.set(key, onFinished);
  return () => {
    if (watchers.get(key) === onFinished) watchers.delete(key);
  };
}

/** Announces that `file` is complete at `size` bytes and will not be written again. Never throws. */
export function fileFinished(file: string, size: number): void {
  if (watchers.size === 0) return;
  const watcher = watchers.get(dirname(resolve(file)));
  if (watcher === undefined) return;
  try {
    watcher(file, size);
  } catch {
    // A hint only: the file is packed the usual way.
  }
}
