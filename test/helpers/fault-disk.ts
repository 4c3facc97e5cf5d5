/**
 * A small real file system for "disk full" tests: a tmpfs of a few MiB mounted on a directory (needs root, as
 * on CI). When mounting is not permitted, `mountSmallFs` says why, and the tests skip with that reason.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallFs {
  dir: string;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `bytes` on `dir` (created if missing, mode 0700); `{ skip }` with the reason when impossible. */
export async function mountSmallFs(dir: string, bytes: number): Promise<SmallFs | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'a tmpfs can only be mounted on Linux' };
  if (process.getuid?.() !== 0) return { skip: 'mounting a small tmpfs needs root (CI runs as root)' };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    return { skip: `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})` };
  }
  return {
    dir,
    unmount: async () => {
      // Lazy: a process that still has a file open there must not make the test fail.
      await run('umount', ['-l', dir]);
    },
  };
}
