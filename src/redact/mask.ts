/** The `mask` action on one value: every rule in order, each replacing all its matches (JavaScript `replace`). */
import type { MaskRule } from './types.js';

/** `value` with every rule applied; the same string when no rule matched. */
export function applyMasks(value: string, masks: readonly MaskRule[]): string {
  let out = value;
  for (let i = 0; i < masks.length; i++) {
    const rule = masks[i]!;
    // A 'g' pattern: replace() starts at 0 and replaces every match, whatever lastIndex was.
    out = out.replace(rule.pattern, rule.replace);
  }
  return out;
}

/** The rules of `masks` that apply to `column` (those without `columns`, and those listing it). */
export function masksFor(masks: readonly MaskRule[], column: string): MaskRule[] {
  return masks.filter((rule) => rule.columns === null || rule.columns.includes(column));
}
