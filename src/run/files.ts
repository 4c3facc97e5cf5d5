/**
 * The run's temporary tree (a fresh directory under `tmpDir`) and the last-resort cleanup for a process that
 * exits without unwinding (a second SIGINT): the tree and the partial tarballs being written are removed.
 */
import { readdirSync, rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createRunDir } from '../state/leftovers.js';
import { basename, join } from 'node:path';

export class RunFiles {
  /** Final paths of the tarballs being written now. */
  readonly writing = new Set<string>();
  private readonly onExit = (): void => removeLeftovers(this.dir, this.output, this.writing);

  private constructor(
    readonly dir: string,
    private readonly output: string,
  ) {
    process.once('exit', this.onExit);
  }

  static async create(output: string, tmpDir: string): Promise<RunFiles> {
    await mkdir(output, { recursive: true, mode: 0o700 });
    // `analytics-collect-run-<pid>-…`: recognised by cleanLeftovers (§3) after a SIGKILL.
    return new RunFiles(await createRunDir(tmpDir), output);
  }

  /** Removes the temporary tree. */
  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }
}

function removeLeftovers(runDir: string, output: string, writing: ReadonlySet<string>): void {
  try {
    rmSync(runDir, { recursive: true, force: true });
    for (const name of readdirSync(output)) {
      // Partial tarballs are `.<name>.<random>.partial` beside their final name.
      if (name.endsWith('.partial') && [...writing].some((t) => name.startsWith(`.${basename(t)}.`))) {
        rmSync(join(output, name), { force: true });
      }
    }
  } catch {
    // Exiting anyway; nothing more can be done.
  }
}
