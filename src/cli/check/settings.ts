/**
 * `check`'s settings table: every effective setting with where it came from (contract §9). Secrets are shown as
 * `***` here, before the output boundary would mask them anyway: a secret's length is not shown either.
 */
import type { ConfigSource, RedactConfig, ResolvedConfig } from '../../config/types.js';

export interface SettingRow {
  key: string;
  /** The value as text; `(not set)` when there is none. */
  value: string;
  source: ConfigSource;
}

const SECRET_KEYS = new Set(['ship.password', 'ship.clientSecret', 'ship.token', 'ship.identity']);
const NOT_SET = '(not set)';

/** The rows, in the order of `sources` (the schema's order). */
export function settingRows(config: ResolvedConfig, sources: ReadonlyMap<string, ConfigSource>): SettingRow[] {
  return [...sources].map(([key, source]) => ({ key, source, value: display(key, valueAt(config, key)) }));
}

function valueAt(config: ResolvedConfig, dotted: string): unknown {
  let value: unknown = config;
  for (const part of dotted.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function display(key: string, value: unknown): string {
  if (value === undefined || value === null || value === '') return NOT_SET;
  if (SECRET_KEYS.has(key)) return '***';
  if (key === 'redact') return describeRedact(value as RedactConfig);
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || key === 'coordination.postgres' ? hidePassword(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A URL or libpq connection string with its password (in any of libpq's forms) replaced by `***`. */
export function hidePassword(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@')
    .replace(/([?&]password=)[^&]*/gi, '$1***')
    .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1***');
}

/** `redact`: the key's variable (never the key) and the rules per collector key. */
function describeRedact(redact: RedactConfig): string {
  const rules = [...redact.rules].map(([key, r]) => {
    const parts = [
      r.drop.length > 0 ? `drop ${r.drop.join(', ')}` : '',
      r.hash.length > 0 ? `hash ${r.hash.join(', ')}` : '',
      r.mask.length > 0 ? `mask ${r.mask.length} pattern${r.mask.length === 1 ? '' : 's'}` : '',
    ].filter((p) => p !== '');
    return `${key}: ${parts.join('; ') || 'nothing'}`;
  });
  return `key from ${redact.keyEnv} (${redact.key ? 'set' : 'not set'}); ${rules.join(' | ') || 'no rules'}`;
}
