/**
 * Redaction of a collection's outcome, for `runCollection` (src/collect/run.ts): an `ok` outcome's files are
 * replaced by their redacted copies; a redaction that cannot be done for sure fails the collection. Kept here so
 * that the collection runner needs one call.
 */
import { messageOf } from '../errors.js';
import type { CollectionOutcome } from '../collect/run.js';
import { redactCollection, RedactionError, rulesFor } from './index.js';
import type { RedactConfig, RedactionSummary } from './types.js';

export interface RedactOutcomeInput {
  key: string;
  format: 'json' | 'csv';
  redact: RedactConfig | null | undefined;
  maxDataSize: number;
  outputDir: string;
  signal: AbortSignal;
  /** Told of each redacted CSV file once complete (see `RedactCollectionInput.onFileFinished`). */
  onFileFinished?: (file: string, size: number) => void;
  /** Told how much of a redacted CSV file being written is final (see `RedactCollectionInput.onFileGrown`). */
  onFileGrown?: (file: string, size: number) => void;
}

/** The outcome after redaction, and what redaction did (null when no rule applies to the key). */
export async function redactOutcome(
  outcome: CollectionOutcome,
  input: RedactOutcomeInput,
): Promise<{ outcome: CollectionOutcome; redaction: RedactionSummary | null }> {
  if (outcome.status !== 'ok' || rulesFor(input.redact, input.key) === null) return { outcome, redaction: null };
  try {
    const { files, redaction } = await redactCollection({ ...input, files: outcome.files });
    return { outcome: files.length === 0 ? { status: 'empty' } : { status: 'ok', files }, redaction };
  } catch (err) {
    if (input.signal.aborted) return { outcome: { status: 'failed', error: 'stopped by a signal' }, redaction: null };
    const reason = err instanceof RedactionError ? err.message : messageOf(err);
    return { outcome: { status: 'failed', error: `redaction failed, nothing of it is kept: ${reason}` }, redaction: null };
  }
}
