/**
 * Where each effective setting came from (flag, environment, file, packager, default), for `check`. Pure: it looks
 * at the raw file content, the flags and the environment; `resolveConfig` decides the values themselves.
 */
import { configShape, coordinationShape, shipShape } from './schema.js';
import type { ConfigFlags, ConfigSource } from './types.js';

/** Every dotted setting key a source is reported for, in schema order. */
export const SETTING_KEYS: readonly string[] = [
  ...Object.keys(configShape).filter((key) => key !== '$schema' && key !== 'ship' && key !== 'coordination'),
  ...Object.keys(shipShape).map((key) => `ship.${key}`),
  ...Object.keys(coordinationShape).map((key) => `coordination.${key}`),
];

/** Flags standing in for a setting. */
const FLAG_KEYS: Readonly<Record<string, keyof ConfigFlags>> = {
  collectors: 'collectors',
  output: 'output',
  metricsFile: 'metricsFile',
};

/** Environment variables standing in for a setting (non-empty ones win over the file). */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  'ship.username': 'ANALYTICS_USERNAME',
  'ship.password': 'ANALYTICS_PASSWORD',
  'ship.clientId': 'ANALYTICS_CLIENT_ID',
  'ship.clientSecret': 'ANALYTICS_CLIENT_SECRET',
  'ship.token': 'ANALYTICS_TOKEN',
  'ship.identity': 'ANALYTICS_IDENTITY',
  'coordination.postgres': 'ANALYTICS_PG_URL',
};

function isSet(raw: unknown, dotted: string): boolean {
  let value = raw;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  return value !== undefined;
}

export function configSources(raw: unknown, flags: ConfigFlags, env: NodeJS.ProcessEnv): Map<string, ConfigSource> {
  const sources = new Map<string, ConfigSource>();
  for (const key of SETTING_KEYS) {
    const flag = FLAG_KEYS[key];
    const envName = ENV_KEYS[key];
    if (flag !== undefined && flags[flag] !== undefined) sources.set(key, 'flag');
    else if (envName !== undefined && env[envName]) sources.set(key, 'environment');
    else if (isSet(raw, key)) sources.set(key, 'file');
    else sources.set(key, 'default');
  }
  return sources;
}
