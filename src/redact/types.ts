/**
 * The shapes redaction works with. `RedactConfig` is the config helper's (src/config/types.ts, contract §10);
 * the summary is what a collection reports in `--json` (`collections[].redaction`).
 */
import type { MaskRule, RedactConfig, RedactRules } from '../config/types.js';

export type { MaskRule, RedactConfig, RedactRules };

/** What redaction did to one collection: names actually dropped and hashed, values a mask changed. */
export interface RedactionSummary {
  dropped: string[];
  hashed: string[];
  masked: number;
}

/** The rules for one collector key: `"*"` and the key's own, merged (the union of each list). */
export interface EffectiveRules {
  /** Names to remove (columns or properties). */
  drop: ReadonlySet<string>;
  /** Names whose values are replaced by their keyed hash (never one that is dropped). */
  hash: ReadonlySet<string>;
  mask: readonly MaskRule[];
  /** The key's own `drop` and `hash` names: a CSV header without one of them fails the collection. */
  required: readonly { name: string; action: 'drop' | 'hash' }[];
}

/** A failure of redaction: the collection fails with this message (one line, names the file and column). */
export class RedactionError extends Error {
  override name = 'RedactionError';
}
