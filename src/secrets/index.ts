/**
 * Secrets (contract §5): one registry, one redactor, one boundary at the process's output. Files we write
 * (history, metrics) pass their text through `redactSecrets` before writing.
 */
export { MASK, MIN_SECRET_LENGTH, clearSecrets, redactBytes, redactSecrets, registerSecret, secretCount } from './registry.js';
export {
  configSecrets,
  connectionStringSecrets,
  environmentSecrets,
  registerSecretsFromConfig,
  registerSecretsFromEnv,
  urlCredentials,
  type SecretSources,
} from './collect.js';
export { escapeControl, escapeControlInJson, escapeControlLine, escapeRawInJson } from './escape.js';
export { installOutputBoundary, redactChunk } from './boundary.js';
