/**
 * What a run reports (contract §7): the `--json` document's tarballs and collections, and the run's outcome.
 */

/** What became of a tarball — what is on disk, recorded when the tarball queue settled it, never guessed. */
export type Disposition = 'kept' | 'deleted' | 'failed' | 'pruned' | 'unwritten';

export interface TarballReport {
  path: string;
  /** Compressed size; 0 when it was not written. */
  bytes: number;
  members: string[];
  shipped: boolean;
  requestId: string | null;
  error: string | null;
  disposition: Disposition;
}

import type { RedactionSummary } from '../redact/types.js';

export type { RedactionSummary };

export type CollectionStatus = 'ok' | 'failed' | 'empty';

export interface CollectionReport {
  key: string;
  status: CollectionStatus;
  since: string;
  until: string;
  tarballs: string[];
  error: string | null;
  redaction: RedactionSummary | null;
}

export interface GatherReport {
  mode: 'dry-run' | 'ship';
  since: string | null;
  until: string;
  tarballs: TarballReport[];
  collections: CollectionReport[];
  /** Set when the config collector failed or produced nothing: no tarball was written. */
  configError: string | null;
  /** An error that ended the run early (a packager hook, the disk, the state store, the lost lock); null if none. */
  fatal: string | null;
  /** True when a signal stopped the run. */
  interrupted: boolean;
  /** True when any collection or upload failed, or the run ended early (exit 1). */
  failed: boolean;
}
