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

/**
 * The masks of one column, made once: {@link applyMasks} with a cheaper look first. Most values of a column
 * match no mask (a mask guards against a rare leak), and `test` with a copy of the pattern without `g` costs a
 * quarter less than a `replace` that finds nothing. Same result: a pattern that matches nowhere in the value
 * (test, from index 0) has nothing for `replace` to replace; a sticky pattern is not tested first.
 */
export class Masker {
  /**
   * A sieve cheaper than {@link mayChange}, for a reader that looks at every byte anyway: `sieve[b]` is 1 for the
   * bytes some rule requires, and a value with fewer than `least` such bytes cannot change (each rule's matches
   * hold at least the sum of its required counts of them). `least` is 0 when a rule requires nothing known.
   */
  readonly sieve = new Uint8Array(256);
  readonly least: number;
  readonly #rules: { pattern: RegExp; test: RegExp | null; replace: string; required: Uint8Array | null; counts: Int32Array }[];

  constructor(masks: readonly MaskRule[]) {
    this.#rules = masks.map((rule) => {
      const required = requiredChars(rule.pattern);
      return {
        pattern: rule.pattern,
        // Without `g` (and not sticky), test() starts at 0 and leaves lastIndex alone.
        test: rule.pattern.sticky ? null : new RegExp(rule.pattern.source, rule.pattern.flags.replace('g', '')),
        replace: rule.replace,
        required: required === null || required.size === 0 ? null : Uint8Array.from(required.keys()),
        counts: Int32Array.from(required?.values() ?? []),
      };
    });
    let least = Number.POSITIVE_INFINITY;
    for (const { required, counts } of this.#rules) {
      if (required === null) {
        least = 0;
        continue;
      }
      let sum = 0;
      for (let k = 0; k < required.length; k++) {
        this.sieve[required[k]!] = 1;
        sum += counts[k]!;
      }
      least = Math.min(least, sum);
    }
    this.least = least === Number.POSITIVE_INFINITY ? 0 : least;
  }

  /**
   * False when no rule can match the value whose UTF-8 is `bytes[start, end)` (it has fewer of a character than
   * every match of the rule holds: see {@link requiredChars}), so {@link apply} would return it unchanged. A rule
   * that matches nothing changes nothing, so the next one sees the same value. ASCII bytes occur in UTF-8 only as
   * themselves, and a quoted field's doubled quotes hold the characters of its value, `"` twice: a count too
   * high at worst, which only sends the value to the regular expressions.
   */
  mayChange(bytes: Uint8Array, start: number, end: number): boolean {
    const rules = this.#rules;
    for (let r = 0; r < rules.length; r++) {
      const { required, counts } = rules[r]!;
      if (required === null) return true;
      let all = true;
      for (let k = 0; k < required.length && all; k++) {
        const c = required[k];
        let left = counts[k]!;
        for (let j = start; j < end && left > 0; j++) if (bytes[j] === c) left--;
        all = left === 0;
      }
      if (all) return true;
    }
    return false;
  }

  /** `value` with every rule applied; the same string when no rule matched. */
  apply(value: string): string {
    const rules = this.#rules;
    let out = value;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.test !== null && !rule.test.test(out)) continue;
      out = out.replace(rule.pattern, rule.replace);
    }
    return out;
  }
}

/** A count of a character that no reading of a pattern needs more than (a `{1000000}` counts as this many). */
const MAX_COUNT = 1 << 16;

/**
 * ASCII characters that every match of `pattern` contains, each with the least number of times it occurs in any
 * match (character code → count), found from its source; null when the pattern uses anything this reading does
 * not follow (then nothing is known). A value with fewer of one of them cannot match, so the mask is not run on
 * it: a pattern for IPv4 addresses needs three `.`, one for e-mail addresses an `@` and a `.`, and most values of
 * most columns have neither (a timestamp's one `.` is not enough for an IPv4 address).
 *
 * The reading is deliberately small and errs towards knowing nothing: literal characters and escaped punctuation
 * count; classes, `.`, `\d`-like escapes, anchors and lookarounds require nothing; a quantified atom counts its
 * least number of repetitions; a sequence adds up what its parts require; a group requires, of each character,
 * the least that any of its alternatives requires. The flags `i` (case folding) and `v`, and any escape or group
 * syntax not listed here, give null.
 */
export function requiredChars(pattern: RegExp): Map<number, number> | null {
  if (pattern.flags.includes('i') || pattern.flags.includes('v')) return null;
  const src = pattern.source;
  let i = 0;
  const none = (): Map<number, number> => new Map<number, number>();
  const one = (code: number): Map<number, number> => new Map([[code, 1]]);

  /** Alternatives up to `)` or the end: of each character, the least any of them requires. */
  const alternatives = (): Map<number, number> | null => {
    let all: Map<number, number> | undefined;
    for (;;) {
      const seq = sequence();
      if (seq === null) return null;
      if (all === undefined) {
        all = seq;
      } else {
        const both = none();
        for (const [c, n] of all) {
          const m = seq.get(c);
          if (m !== undefined) both.set(c, Math.min(n, m));
        }
        all = both;
      }
      if (src[i] !== '|') return all;
      i++;
    }
  };

  const sequence = (): Map<number, number> | null => {
    const required = none();
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      const chars = atom();
      if (chars === null) return null;
      const min = quantifier();
      if (min === null) return null;
      if (min > 0) for (const [c, n] of chars) required.set(c, Math.min(MAX_COUNT, (required.get(c) ?? 0) + n * min));
    }
    return required;
  };

  /** The atom at `i` and what it requires when it matches once. */
  const atom = (): Map<number, number> | null => {
    const c = src[i]!;
    if (c === '(') {
      i++;
      let look = false;
      if (src.startsWith('?:', i)) {
        i += 2;
      } else if (src.startsWith('?=', i) || src.startsWith('?!', i)) {
        i += 2;
        look = true;
      } else if (src.startsWith('?<=', i) || src.startsWith('?<!', i)) {
        i += 3;
        look = true;
      } else if (src.startsWith('?<', i)) {
        const close = src.indexOf('>', i);
        if (close === -1) return null;
        i = close + 1;
      } else if (src[i] === '?') {
        return null;
      }
      const inner = alternatives();
      if (inner === null || src[i] !== ')') return null;
      i++;
      return look ? none() : inner;
    }
    if (c === '[') {
      // A class: up to the first `]` not escaped (in JavaScript `[]` is a class, the empty one).
      i++;
      if (src[i] === '^') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) return null;
      i++;
      return none();
    }
    if (c === '\\') {
      const d = src[i + 1] ?? '';
      i += 2;
      if ('dDwWsSbB'.includes(d) && d !== '') return none();
      if (d === 'n') return one(0x0a);
      if (d === 'r') return one(0x0d);
      if (d === 't') return one(0x09);
      if (d !== '' && '.\\/-^$*+?()[]{}|'.includes(d)) return one(d.charCodeAt(0));
      return null;
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') return null;
    i++;
    if (c === '.' || c === '^' || c === '$') return none();
    const code = c.charCodeAt(0);
    return code < 0x80 ? one(code) : none();
  };

  /** The quantifier at `i` (with its `?`), as its least count: 1 when there is none. */
  const quantifier = (): number | null => {
    let min = 1;
    const c = src[i];
    if (c === '*' || c === '?') {
      min = 0;
      i++;
    } else if (c === '+') {
      i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(?:,\d*)?\}/.exec(src.slice(i));
      if (m === null) return null;
      min = Math.min(MAX_COUNT, Number(m[1]));
      i += m[0].length;
    } else {
      return 1;
    }
    if (src[i] === '?') i++;
    return min;
  };

  const required = alternatives();
  return required === null || i !== src.length ? null : required;
}
