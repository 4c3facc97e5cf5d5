/** Writing a list of buffers completely, for the splitter's files and the tarball writer. */
import type { FileHandle } from 'node:fs/promises';

/**
 * Writes every byte of `chunks` with `writev`, going on after short writes. With `position` the bytes go there
 * (and on from there); with null, at the file's current position. Resolves to the position after the last byte
 * (with null: to `position` plus the bytes written, i.e. the count).
 */
export async function writeAll(handle: FileHandle, chunks: readonly Buffer[], position: number | null = null): Promise<number> {
  let pending = chunks;
  let written = 0;
  while (pending.length > 0) {
    const total = pending.reduce((sum, chunk) => sum + chunk.length, 0);
    const { bytesWritten } = await handle.writev(pending as Buffer[], position === null ? undefined : position + written);
    written += bytesWritten;
    if (bytesWritten >= total) break;
    if (bytesWritten === 0) throw new Error('the disk accepted no more bytes');
    // A short write (rare on regular files): go on with what is left.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const chunk of pending) {
      if (skip >= chunk.length) skip -= chunk.length;
      else {
        rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      }
    }
    pending = rest;
  }
  return (position ?? 0) + written;
}
