/** Building `redact` configurations for the redaction tests, as the config loader resolves them. */
import { createHmac } from 'node:crypto';
import type { RedactConfig, RedactRules } from '../../src/config/types.js';

export const TEST_KEY = 'test-redaction-key-0123456789';

export interface RawRules {
  drop?: string[];
  hash?: string[];
  mask?: { pattern: string; replace?: string; columns?: string[] }[];
}

export function redactConfig(rules: Record<string, RawRules>, key: string | null = TEST_KEY): RedactConfig {
  const map = new Map<string, RedactRules>();
  for (const [name, raw] of Object.entries(rules)) {
    map.set(name, {
      drop: raw.drop ?? [],
      hash: raw.hash ?? [],
      mask: (raw.mask ?? []).map((m) => ({ pattern: new RegExp(m.pattern, 'gu'), replace: m.replace ?? '***', columns: m.columns ?? null })),
    });
  }
  return { keyEnv: 'ANALYTICS_REDACT_KEY', key, rules: map };
}

/** The expected hash, computed independently with node:crypto. */
export function hmac32(value: string, key = TEST_KEY): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 32);
}
