/**
 * Redaction of a JSON collection (contract §10): names are property names at any depth. `drop` removes the
 * property; `hash` replaces its value by the keyed hash of the string itself, or of its compact JSON text for
 * anything else (`null` stays `null`, `''` stays `''`); `mask` changes string values (not property names).
 *
 * A mask with `columns` applies to the strings under a property of one of those names, at any depth below it.
 */
import type { CachedHash } from './hmac.js';
import { applyMasks } from './mask.js';
import type { EffectiveRules, MaskRule, RedactionSummary } from './types.js';

export interface JsonRedaction {
  value: unknown;
  summary: RedactionSummary;
}

/** Redacts a value as `JSON.parse` returns it (plain objects, arrays, strings, numbers, booleans, null). */
export function redactJson(value: unknown, rules: EffectiveRules, hash: CachedHash | null): JsonRedaction {
  const dropped = new Set<string>();
  const hashed = new Set<string>();
  let masked = 0;
  const global = rules.mask.filter((rule) => rule.columns === null);
  const scoped = rules.mask.filter((rule) => rule.columns !== null);

  const digest = (v: unknown): unknown => {
    if (v === null || v === '') return v;
    if (hash === null) throw new Error('internal: a hash rule without a key');
    return hash.digest(typeof v === 'string' ? v : JSON.stringify(v));
  };

  /** The rules active below property `name`: those active here plus those listing it, in the rules' order. */
  const widen = (masks: readonly MaskRule[], name: string): MaskRule[] =>
    rules.mask.filter((rule) => masks.includes(rule) || rule.columns?.includes(name) === true);

  const walk = (v: unknown, masks: readonly MaskRule[]): unknown => {
    if (typeof v === 'string') {
      if (masks.length === 0) return v;
      const out = applyMasks(v, masks);
      if (out !== v) masked++;
      return out;
    }
    if (Array.isArray(v)) return v.map((item) => walk(item, masks));
    if (v === null || typeof v !== 'object') return v;
    // No prototype: a property named `__proto__` stays a property, as JSON.parse made it.
    const out = Object.create(null) as Record<string, unknown>;
    for (const name of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[name];
      if (rules.drop.has(name)) {
        dropped.add(name);
      } else if (rules.hash.has(name)) {
        hashed.add(name);
        out[name] = digest(item);
      } else {
        out[name] = walk(item, scoped.some((r) => r.columns!.includes(name)) ? widen(masks, name) : masks);
      }
    }
    return out;
  };

  const result = walk(value, global);
  return { value: result, summary: { dropped: ordered(rules.drop, dropped), hashed: ordered(rules.hash, hashed), masked } };
}

/** The names of `rule` that were seen, in the rules' order. */
function ordered(rule: ReadonlySet<string>, seen: ReadonlySet<string>): string[] {
  return [...rule].filter((name) => seen.has(name));
}

/** Redacts compact JSON text (what a json collection writes) and returns the new compact text. */
export function redactJsonText(text: string, rules: EffectiveRules, hash: CachedHash | null): { text: string; summary: RedactionSummary } {
  const { value, summary } = redactJson(JSON.parse(text) as unknown, rules, hash);
  return { text: JSON.stringify(value), summary };
}
