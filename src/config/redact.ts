/**
 * `redact` (contract §10) from the validated file to the resolved shape: patterns compiled, the key read from the
 * environment, and the checks that need both (hash rules without a key, a key under 16 characters). Pure: the
 * environment is a parameter. The key is a secret: no message shows it, only its length rule.
 */
import { compileMask, formatKeyPath, type FileConfig } from './schema.js';
import type { MaskRule, RedactConfig, RedactRules } from './types.js';

/** The shortest HMAC key accepted. */
export const MIN_REDACT_KEY_LENGTH = 16;

/** The default `replace` of a mask rule. */
export const DEFAULT_MASK_REPLACE = '***';

type FileRedact = NonNullable<FileConfig['redact']>;

export interface RedactResolution {
  value: RedactConfig | null;
  problems: string[];
}

function ruleSetOf(raw: FileRedact['rules'][string]): RedactRules {
  const mask: MaskRule[] = (raw.mask ?? []).map((rule) => ({
    // Validated already: compileMask only fails on a source the schema rejected.
    pattern: compileMask(rule.pattern) ?? new RegExp('(?!)', 'g'),
    replace: rule.replace ?? DEFAULT_MASK_REPLACE,
    columns: rule.columns ? [...rule.columns] : null,
  }));
  return { drop: [...(raw.drop ?? [])], hash: [...(raw.hash ?? [])], mask };
}

/**
 * Resolves `redact`. `rawRules` are the rules as the file holds them (own keys only), so a key named `__proto__`
 * or `constructor` is a key like any other. `file` names the configuration file in problems.
 */
export function resolveRedact(redact: FileRedact | undefined, env: NodeJS.ProcessEnv, file: string): RedactResolution {
  if (redact === undefined) return { value: null, problems: [] };
  const rules = new Map<string, RedactRules>();
  for (const key of Object.keys(redact.rules)) rules.set(key, ruleSetOf(redact.rules[key]!));
  const key = env[redact.keyEnv] ? env[redact.keyEnv]! : null;
  const problems: string[] = [];
  const hashing = [...rules].filter(([, set]) => set.hash.length > 0).map(([name]) => formatKeyPath(['redact', 'rules', name, 'hash']));
  if (hashing.length > 0 && key === null) {
    problems.push(
      `${file}: ${hashing.join(', ')} need${hashing.length === 1 ? 's' : ''} a key: set the environment variable ${redact.keyEnv} (redact.keyEnv) to a secret of at least ${MIN_REDACT_KEY_LENGTH} characters`,
    );
  }
  if (hashing.length > 0 && key !== null && [...key].length < MIN_REDACT_KEY_LENGTH) {
    problems.push(
      `${file}: redact.keyEnv: the environment variable ${redact.keyEnv} must hold at least ${MIN_REDACT_KEY_LENGTH} characters, got ${[...key].length}; use a longer random secret`,
    );
  }
  return { value: { keyEnv: redact.keyEnv, key, rules }, problems };
}
