/**
 * The metrics file (contract §9): Prometheus text for node_exporter's textfile collector, replaced atomically
 * (temp file in the same directory, then rename) with mode 0644, so the collector never reads half a file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { metricsText, type MetricsInput } from './build.js';

export { metricsText, type MetricsInput } from './build.js';

/** Writes the metrics of `input` to `file`; `redact` is applied to the text first (no secret leaves, §5). */
export async function writeMetrics(file: string, input: MetricsInput, redact: (text: string) => string = (t) => t): Promise<void> {
  const path = resolve(file);
  const text = redact(await metricsText(input));
  // node_exporter only reads files ending in .prom; a temp name without it is never picked up half-written.
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(0o644); // exact, whatever the umask
    await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

