/**
 * `check`: can the run write where it has to (output, tmpDir, the state's folder)? A folder that does not exist
 * yet is fine when the run can create it (its nearest existing parent is a writable folder).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LocationCheck {
  name: string;
  path: string;
  ok: boolean;
  /** "exists", "will be created", or what is wrong. */
  detail: string;
}

/** Checks that `path` is, or can become, a folder this process may write into. */
export async function checkFolder(name: string, path: string): Promise<LocationCheck> {
  const result = (ok: boolean, detail: string): LocationCheck => ({ name, path, ok, detail });
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : err));
  if (info instanceof Error) return result(false, `cannot be read (${info.code ?? info.message})`);
  if (info !== null) {
    if (!info.isDirectory()) return result(false, 'exists but is not a folder');
    return (await writable(path)) ? result(true, 'exists, writable') : result(false, 'exists but is not writable by this user');
  }
  let parent = dirname(path);
  for (;;) {
    const up = await stat(parent).catch(() => null);
    if (up !== null) {
      if (!up.isDirectory()) return result(false, `cannot be created: ${parent} is not a folder`);
      return (await writable(parent)) ? result(true, 'will be created') : result(false, `cannot be created: ${parent} is not writable by this user`);
    }
    if (dirname(parent) === parent) return result(false, 'cannot be created');
    parent = dirname(parent);
  }
}

const writable = (dir: string): Promise<boolean> => access(dir, constants.W_OK | constants.X_OK).then(() => true, () => false);
