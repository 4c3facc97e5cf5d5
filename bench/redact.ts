/**
 * `npm run bench -- --redact`: the same job with redaction rules (contract §10) on both CSV collectors — one
 * column dropped (`amount`), two hashed (`ref`, unique per row: every value is a fresh HMAC; `label`, 1024
 * distinct values: mostly cache hits) — and one mask over every field of every collector (`"*"`, the contract's
 * IPv4 pattern, which this table never matches: the common case of a mask that guards against a rare leak).
 */
export const BENCH_REDACT = {
  rules: {
    '*': { mask: [{ pattern: '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', replace: '0.0.0.0' }] },
    big_table: { drop: ['amount'], hash: ['ref', 'label'] },
    daily_table: { drop: ['amount'], hash: ['ref', 'label'] },
  },
};

/** The benchmark's HMAC key (not a secret: it only makes the hashes of a throw-away table). */
export const BENCH_REDACT_ENV = { ANALYTICS_REDACT_KEY: 'bench-redaction-key-0123456789' };
