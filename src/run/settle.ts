/**
 * The settle policy of a ship run (contract §5) as the tarball queue uses it: an accepted tarball is deleted
 * (kept with `--keep`), a failed one moved to `<output>/failed/`, where only the newest `ship.keepFailed` stay.
 * It says exactly which files `keepFailed` removed, so every tarball's disposition is what is on disk.
 */
import { join } from 'node:path';
import { pruneFailed, settleTarball } from '../ship/settle.js';
import type { Settlement } from './queue.js';

export interface SettlePolicy {
  keep: boolean;
  output: string;
  keepFailed: number;
}

export function settlePolicy(policy: SettlePolicy): (path: string, accepted: boolean) => Promise<Settlement> {
  return async (path, accepted) => {
    if (accepted) {
      const settled = await settleTarball(path, true, { keep: policy.keep, output: policy.output, keepFailed: policy.keepFailed });
      return settled.action === 'kept' ? { disposition: 'kept', path, pruned: [] } : { disposition: 'deleted', path, pruned: [] };
    }
    // Moved without pruning, then pruned here, to learn which files the pruning removed.
    const moved = await settleTarball(path, false, { keep: policy.keep, output: policy.output, keepFailed: Number.MAX_SAFE_INTEGER });
    const target = moved.path ?? path;
    const pruned = await pruneFailed(join(policy.output, 'failed'), policy.keepFailed);
    return { disposition: pruned.includes(target) ? 'pruned' : 'failed', path: target, pruned };
  };
}
