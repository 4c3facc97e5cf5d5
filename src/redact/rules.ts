/**
 * Which rules apply to a collector key (contract §10): `"*"` and the key's own, merged as the union of each list.
 * Pure functions; `describeRules` is what `check` prints per collector.
 */
import type { EffectiveRules, MaskRule, RedactConfig, RedactRules } from './types.js';

const ALL = '*';

/** The merged rules for `key`, or null when no rule applies to it (then nothing is redacted or reported). */
export function rulesFor(redact: RedactConfig | null | undefined, key: string): EffectiveRules | null {
  if (!redact) return null;
  const own = redact.rules.get(key);
  const all = key === ALL ? undefined : redact.rules.get(ALL);
  const sets = [all, own].filter((set): set is RedactRules => set !== undefined);
  const drop = new Set(sets.flatMap((set) => set.drop));
  const hash = new Set(sets.flatMap((set) => set.hash).filter((name) => !drop.has(name)));
  const mask = uniqueMasks(sets.flatMap((set) => set.mask));
  if (drop.size === 0 && hash.size === 0 && mask.length === 0) return null;
  const required = new Map<string, 'drop' | 'hash'>();
  for (const name of own?.drop ?? []) required.set(name, 'drop');
  for (const name of own?.hash ?? []) if (!required.has(name)) required.set(name, 'hash');
  return { drop, hash, mask, required: [...required].map(([name, action]) => ({ name, action })) };
}

/** The same mask given for `"*"` and for the key (same source, replacement and columns) applies once. */
function uniqueMasks(masks: MaskRule[]): MaskRule[] {
  const seen = new Set<string>();
  return masks.filter((rule) => {
    const id = JSON.stringify([rule.pattern.source, rule.pattern.flags, rule.replace, rule.columns]);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** One collector's rules in words, for `check`. */
export interface RuleDescription {
  key: string;
  drop: string[];
  hash: string[];
  /** `/source/flags → "replace"`, with ` (columns a, b)` when limited. */
  mask: string[];
}

/**
 * The merged rules of each key in `keys` (collector keys, in the order given); keys with no rule are left out.
 * Holds no secret: the key itself is never part of it.
 */
export function describeRules(redact: RedactConfig | null | undefined, keys: readonly string[]): RuleDescription[] {
  const out: RuleDescription[] = [];
  for (const key of keys) {
    const rules = rulesFor(redact, key);
    if (rules === null) continue;
    out.push({
      key,
      drop: [...rules.drop],
      hash: [...rules.hash],
      mask: rules.mask.map(
        (rule) =>
          `/${rule.pattern.source}/${rule.pattern.flags} → ${JSON.stringify(rule.replace)}` +
          (rule.columns === null ? '' : ` (columns ${rule.columns.join(', ')})`),
      ),
    });
  }
  return out;
}
