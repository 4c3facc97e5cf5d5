/**
 * Temporary directories for one test file: a root made before its tests and removed after them, and a fresh
 * directory (or path) under it per call. Call `tempRoot()` at the top level of the test file.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export interface TempRoot {
  /** The root itself (set once the file's tests start). */
  readonly path: string;
  /** A new path under the root, not created. */
  name(): string;
  /** A new, empty directory under the root. */
  fresh(): Promise<string>;
}

export function tempRoot(prefix: string): TempRoot {
  let root: string | null = null;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), `${prefix}-`));
  });
  after(async () => {
    if (root !== null) await rm(root, { recursive: true, force: true });
  });
  const temp: TempRoot = {
    get path(): string {
      if (root === null) throw new Error('tempRoot: used before the tests started');
      return root;
    },
    name: () => join(temp.path, `t${n++}`),
    fresh: async () => {
      const path = temp.name();
      await mkdir(path, { recursive: true });
      return path;
    },
  };
  return temp;
}
