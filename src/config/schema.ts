/**
 * The configuration file's schema (contract §6): one zod schema that validates the file, fills in defaults and
 * generates the published JSON Schema (`schema/analytics.config.schema.json`). Validation is pure and reports
 * every problem at once, each naming the key, the file, the value (never a secret one) and what is expected.
 */
import { z } from 'zod';

/** `ship.auth` modes, in the order the contract lists them. */
export const AUTH_MODES = ['basic', 'service-account', 'bearer', 'mtls', 'identity', 'none'] as const;

/**
 * Keys whose values are never shown in a problem, only their type. The contract names the secrets; user names and
 * client ids are included because they are half of a credential, and header values because users put API keys
 * there.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'clientSecret', 'token', 'identity', 'username', 'clientId']);

/** `application/vnd.<vendor>.<name>…+tgz`: at least two dotted parts after `vnd.` (contract: `vnd.redhat.<service>.<category>+tgz`). */
const CONTENT_TYPE = /^application\/vnd\.[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+\+tgz$/;
/** An HTTP header name: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value that HTTP can carry: no CR, LF or NUL. */
const HEADER_VALUE = /^[^\r\n\0]*$/;
/** libpq `key=value` pairs; values may be single-quoted with backslash escapes. */
const LIBPQ_PAIRS = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s'\\]+)\s*)+$/;
/** A PostgreSQL identifier we can safely quote, optionally schema-qualified. */
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Every issue raised by a field carries one message: the noun phrase of what it expects ("an integer >= 0"). */
const expecting = (phrase: string) => ({ error: () => phrase });

const path = (description: string) => z.string(expecting('a non-empty path')).min(1, expecting('a non-empty path')).describe(description);

const text = (description: string) => z.string(expecting('a non-empty string')).min(1, expecting('a non-empty string')).describe(description);

/** The longest timer Node.js keeps (about 24.8 days); every duration in milliseconds is bounded by it (§6). */
export const MAX_TIMER_MS = 2147483647;

function integer(min: number, max: number | undefined, unit: string, description: string) {
  const bound = max !== undefined ? `from ${min} to ${max}` : min === 1 ? '> 0' : `>= ${min}`;
  const phrase = `an integer ${bound}${unit ? ` (${unit})` : ''}`;
  const schema = z.int(expecting(phrase)).min(min, expecting(phrase));
  return (max === undefined ? schema : schema.max(max, expecting(phrase))).describe(description);
}

function httpUrl(description: string) {
  const phrase = 'an http:// or https:// URL';
  // `pattern` only documents the scheme rule in the JSON Schema; z.url's protocol check enforces it.
  return z.url({ protocol: /^https?$/, ...expecting(phrase) }).meta({ description, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' });
}

function isPostgresConnection(value: string): boolean {
  if (/^postgres(?:ql)?:\/\//i.test(value)) return URL.canParse(value);
  return LIBPQ_PAIRS.test(value);
}

const headers = z
  .record(
    // Key issues are reported as "<path> <message>", so these messages are predicates.
    z
      .string()
      .regex(HEADER_NAME, { error: () => "is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)" })
      .refine((name) => name.toLowerCase() !== 'authorization', {
        error: () => 'is not allowed: credentials are set with ship.auth (and ship.username/password, ship.token, …), which keeps them out of logs',
      }),
    z.string(expecting('a string without line breaks')).regex(HEADER_VALUE, expecting('a string without line breaks')),
    expecting('an object mapping header names to string values'),
  )
  .default({})
  .describe(
    'Extra request headers, merged over the default `User-Agent: analytics-collect/<version>` (a `User-Agent` here replaces it) and over the packager\'s `headers()`. An `Authorization` header is not allowed: use `ship.auth`.',
  );

/** The keys of `ship`. */
export const shipShape = {
  url: httpUrl('The ingress URL tarballs are POSTed to (multipart/form-data, one part named `file`).').optional(),
  tokenUrl: httpUrl('OAuth2 token endpoint for `ship.auth: "service-account"` (client credentials).').optional(),
  proxy: httpUrl(
    'HTTP(S) proxy for uploads; overrides HTTPS_PROXY/HTTP_PROXY. Credentials in the URL are used and never printed.',
  ).optional(),
  contentType: z
    .string(expecting('a media type like application/vnd.redhat.<service>.<category>+tgz'))
    .regex(CONTENT_TYPE, expecting('a media type like application/vnd.redhat.<service>.<category>+tgz'))
    .describe('Content-Type of the uploaded part, `application/vnd.redhat.<service>.<category>+tgz` style.')
    .optional(),
  auth: z
    .enum(AUTH_MODES, expecting(`one of ${AUTH_MODES.join(', ')}`))
    .default('none')
    .describe(
      'How uploads authenticate: `basic` (username/password), `service-account` (OAuth2 client credentials at `tokenUrl`), `bearer` (token), `mtls` (certFile + keyFile), `identity` (x-rh-identity header), `none`.',
    ),
  username: text('User name for `basic` auth; ANALYTICS_USERNAME wins over this.').optional(),
  password: text('Password for `basic` auth; prefer ANALYTICS_PASSWORD, which wins over this.').optional(),
  clientId: text('Client id for `service-account` auth; ANALYTICS_CLIENT_ID wins over this.').optional(),
  clientSecret: text('Client secret for `service-account` auth; prefer ANALYTICS_CLIENT_SECRET, which wins over this.').optional(),
  scope: text('Optional OAuth2 scope sent with the `service-account` token request.').optional(),
  token: text('Token for `bearer` auth; prefer ANALYTICS_TOKEN, which wins over this.').optional(),
  identity: text('Value of the x-rh-identity header for `identity` auth; ANALYTICS_IDENTITY wins over this.').optional(),
  certFile: path('Client certificate (PEM) for `mtls` auth; relative to the configuration file.').optional(),
  keyFile: path('Client private key (PEM) for `mtls` auth; relative to the configuration file.').optional(),
  caFile: path('Extra CA certificate (PEM) trusted in addition to the default ones; relative to the configuration file.').optional(),
  headers,
  timeoutMs: integer(1, MAX_TIMER_MS, 'milliseconds', 'Timeout of one upload attempt (the whole attempt), in milliseconds.').default(31000),
  retries: integer(0, undefined, '', 'Retries after the first attempt for connection errors, timeouts, 408, 429 and 5xx.').default(3),
  uploadLimit: integer(1, undefined, 'bytes', 'Largest compressed tarball that is uploaded, in bytes; bigger ones fail with an error naming their largest members.').default(104857600),
  keepFailed: integer(0, undefined, '', 'How many failed tarballs `<output>/failed/` keeps (the newest).').default(10),
  requireRequestId: z
    .boolean(expecting('true or false'))
    .default(true)
    .describe('Whether a 2xx answer must carry a `request_id` to count as accepted (an HTML login page or a wrong path does not).'),
  trackUrl: httpUrl(
    'Where `track` asks about uploads; default: `ship.url` with a last path segment `upload` replaced by `track`.',
  ).optional(),
};

/** A collector key (§2), or `*` for every key. */
const RULE_KEY = /^(?:\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,99})$/;
/** An environment variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether a mask pattern compiles (with `u` when it can, else without; see `compileMask`). */
export function compileMask(source: string): RegExp | null {
  for (const flags of ['gu', 'g']) {
    try {
      return new RegExp(source, flags);
    } catch {
      // try the next flag set
    }
  }
  return null;
}

const names = (description: string) =>
  z.array(text('a field name'), expecting('an array of non-empty strings')).describe(description).optional();

const maskRule = z
  .strictObject(
    {
      pattern: z
        .string(expecting('a JavaScript regular expression'))
        .min(1, expecting('a non-empty JavaScript regular expression'))
        .refine((source) => compileMask(source) !== null, expecting('a valid JavaScript regular expression'))
        .describe('JavaScript regular expression (source, without slashes); every match is replaced.'),
      replace: z.string(expecting('a string')).describe('Replacement text (`$1`… refer to groups); default `***`.').optional(),
      columns: z
        .array(text('a column name'), expecting('an array of non-empty strings'))
        .describe('csv only: the columns the mask applies to; default: every field.')
        .optional(),
    },
    expecting('an object { pattern, replace?, columns? }'),
  )
  .describe('One mask rule.');

const ruleSet = z
  .strictObject(
    {
      drop: names('Columns (csv) or property names (json, any depth) removed.'),
      hash: names('Columns or properties replaced by HMAC-SHA256(key, value), first 32 hex characters; needs the key.'),
      mask: z.array(maskRule, expecting('an array of { pattern, replace?, columns? }')).describe('Regular-expression replacements.').optional(),
    },
    expecting('an object { drop?, hash?, mask? }'),
  )
  .describe('Rules for one collector key.');

/** `redact` (contract §10). */
export const redactShape = {
  keyEnv: z
    .string(expecting('an environment variable name'))
    .regex(ENV_NAME, expecting('an environment variable name'))
    .default('ANALYTICS_REDACT_KEY')
    .describe('Environment variable holding the HMAC key for `hash` rules (at least 16 characters).'),
  rules: z
    .record(
      z.string().regex(RULE_KEY, { error: () => 'is not a collector key ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 100 characters) or "*"' }),
      ruleSet,
      expecting('an object mapping collector keys (or "*") to rules'),
    )
    .default({})
    .describe('Rules per collector key; `*` applies to every key (merged with the key\'s own).'),
};

const redactSchema = z
  .strictObject(redactShape, expecting('an object { keyEnv?, rules }'))
  .describe('Redaction applied to collected data before it is placed in a tarball (contract §10).');

/** The keys of `coordination`. */
export const coordinationShape = {
  postgres: z
    .string(expecting('a postgres:// or postgresql:// URL or a libpq key=value connection string'))
    .refine(isPostgresConnection, expecting('a postgres:// or postgresql:// URL or a libpq key=value connection string'))
    .describe(
      'PostgreSQL connection string (URL or libpq key=value) shared by several nodes: the run lock becomes an advisory lock and the state lives in `coordination.table`. ANALYTICS_PG_URL wins over this.',
    )
    .optional(),
  lockName: text('Name the advisory lock key is derived from.').default('analytics-collect'),
  table: z
    .string(expecting('a table name like analytics_collect_state or schema.table'))
    .regex(TABLE_NAME, expecting('a table name like analytics_collect_state or schema.table'))
    .default('analytics_collect_state')
    .describe('Table holding the state (created if missing).'),
  timeoutMs: integer(1000, MAX_TIMER_MS, 'milliseconds', 'How long a database operation (connect, lock, query) may take.').default(30000),
};

/** The top-level keys. */
export const configShape = {
  $schema: z.string(expecting('a string')).describe('JSON Schema reference for editors; ignored.').optional(),
  collectors: path('Directory of collector modules; relative to the configuration file.').default('./collectors'),
  output: path('Directory tarballs are written to; relative to the configuration file.').default('./analytics-out'),
  stateFile: path('JSON state file (unused with `coordination.postgres`); relative to the configuration file.').default(
    './.analytics-collect/state.json',
  ),
  // No default here: the system temp directory differs by machine and would make the published schema unstable.
  tmpDir: path('Directory for temporary files; default: the system temp directory.').optional(),
  maxDataSize: integer(1, undefined, 'bytes', 'Uncompressed data bytes one tarball may hold (the ingress takes compressed uploads up to 100 MiB).').default(
    209715200,
  ),
  gzipLevel: integer(1, 9, '', 'gzip compression level of the tarballs.').default(6),
  collectorTimeoutMs: integer(1, MAX_TIMER_MS, 'milliseconds', 'How long one collector call may run before it is recorded as failed.').default(3600000),
  concurrency: integer(1, 64, '', 'How many collections run at once (placement stays in collector order).').default(4),
  lockStaleMs: integer(60000, MAX_TIMER_MS, 'milliseconds', 'A lock not refreshed for this long is taken over, from any host, with a warning.').default(600000),
  historyFile: path('JSON Lines file of past runs; default: `history.jsonl` beside the state file; relative to the configuration file.').optional(),
  historyKeep: integer(1, undefined, '', 'How many runs the history file keeps (the newest).').default(200),
  metricsFile: path('File the run metrics are written to (Prometheus text format); default: none; relative to the configuration file.').optional(),
  redact: redactSchema.optional(),
  packager: path('Module whose default export adapts tarball names, limits, headers, license check or transport; relative to the configuration file.').optional(),
  ship: z
    .strictObject(shipShape, expecting('an object of ship.* settings'))
    .prefault({})
    .describe('Uploading tarballs to the ingress (`gather --ship`, `ship`).'),
  coordination: z
    .strictObject(coordinationShape, expecting('an object of coordination.* settings'))
    .prefault({})
    .describe('Several nodes sharing one PostgreSQL database: one lock, one state.'),
};

/** The configuration file, as zod sees it. */
export const configSchema = z
  .strictObject(configShape, expecting('an object of settings'))
  .meta({ title: 'analytics-collect configuration', description: 'Configuration of analytics-collect (contract §6).' });

/** A validated configuration file with defaults filled in (paths still relative, secrets not yet from the environment). */
export type FileConfig = z.output<typeof configSchema>;

/** The allowed keys at each object path, for "did you mean" hints. */
const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(configShape),
  ship: Object.keys(shipShape),
  coordination: Object.keys(coordinationShape),
  redact: Object.keys(redactShape),
};

/** The allowed keys of the object at `keys` (redact rules sit below a free collector key). */
function knownKeysAt(keys: readonly PropertyKey[]): string[] {
  const [first, second, , fourth] = keys.map(String);
  if (first === 'redact' && second === 'rules' && keys.length === 3) return ['drop', 'hash', 'mask'];
  if (first === 'redact' && second === 'rules' && fourth === 'mask' && keys.length === 5) return ['pattern', 'replace', 'columns'];
  return KNOWN_KEYS[formatKeyPath(keys)] ?? [];
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** `ship.headers["X Y"]`: dots between plain keys, brackets for the rest. */
export function formatKeyPath(keys: readonly PropertyKey[]): string {
  let out = '';
  for (const key of keys) {
    const name = String(key);
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[$A-Za-z_][\w$-]*$/.test(name)) out += out ? `.${name}` : name;
    else out += `[${JSON.stringify(name)}]`;
  }
  return out;
}

/** Whether the value at this key path may be a secret, so only its type may be shown. */
function isSecretPath(keys: readonly PropertyKey[]): boolean {
  const [first, second] = keys.map(String);
  if (first === 'ship' && second !== undefined) return SECRET_KEYS.has(second) || second === 'headers';
  return first === 'coordination' && second === 'postgres';
}

/** Hides the userinfo of URLs (`//user:pass@`) and libpq `password=…` in a string that is about to be shown. */
export function maskCredentials(value: string): string {
  const at = value.lastIndexOf('@');
  let out = value;
  if (at >= 0) {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value)?.[0] ?? '';
    out = `${scheme}***${value.slice(at)}`;
  }
  return out.replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1***');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** How a bad value is shown: secret ones by type only, long strings cut, credentials in URLs masked. */
function showValue(value: unknown, secret: boolean): string {
  if (secret) return typeName(value);
  if (typeof value === 'string') {
    const masked = maskCredentials(value);
    return JSON.stringify(masked.length > 80 ? `${masked.slice(0, 80)}…` : masked);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeName(value);
}

function valueAt(root: unknown, keys: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest allowed key, when the unknown one looks like a typo of it. */
function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = key.toLowerCase() === lower ? 0 : editDistance(lower, key.toLowerCase());
    if (distance <= Math.max(1, Math.floor(key.length / 3)) && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

/** Phrases for issues no field message covers (kept so a schema change cannot produce zod's default wording). */
function fallbackPhrase(issue: z.core.$ZodRawIssue): string {
  if (issue.code === 'invalid_type') return `a ${String(issue.expected)}`;
  return 'a valid value';
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, file: string): string[] {
  const where = (keys: readonly PropertyKey[]) => (keys.length ? `${file}: ${formatKeyPath(keys)}` : file);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const known = knownKeysAt(issue.path);
      const hint = suggestKey(key, known);
      const keys = [...issue.path, key];
      const fix = hint ? `did you mean ${formatKeyPath([...issue.path, hint])}?` : `remove it (allowed: ${known.join(', ')})`;
      return `${where(keys)} is not a known setting; ${fix}`;
    });
  }
  if (issue.code === 'invalid_key') {
    return issue.issues.map((keyIssue) => `${where(issue.path)} ${keyIssue.message}`);
  }
  const value = valueAt(raw, issue.path);
  const subject = issue.path.length ? where(issue.path) : `${file}: the configuration`;
  // The whole file's content is shown by type only: a file that is no object of settings may be anything.
  return [`${subject} must be ${issue.message}, got ${showValue(value, issue.path.length === 0 || isSecretPath(issue.path))}`];
}

/** The paths of every own `__proto__` key (JSON.parse makes them own properties). */
function protoKeyPaths(value: unknown, at: PropertyKey[]): PropertyKey[][] {
  if (value === null || typeof value !== 'object') return [];
  if (at.length > 32) return [];
  const found: PropertyKey[][] = [];
  for (const key of Object.keys(value)) {
    const keys = [...at, Array.isArray(value) ? Number(key) : key];
    if (key === '__proto__') found.push(keys);
    else found.push(...protoKeyPaths((value as Record<string, unknown>)[key], keys));
  }
  return found;
}

/**
 * Validates a configuration file's content. Pure: `file` is only used in messages. On failure, every problem is
 * listed, one line each, like `/p/analytics.config.json: ship.retries must be an integer >= 0, got -1`.
 */
export function validateConfig(raw: unknown, file: string): ValidationResult<FileConfig> {
  // zod's records and objects skip a `__proto__` key silently (or turn it into a prototype): refuse it first.
  const poisoned = protoKeyPaths(raw, []);
  if (poisoned.length > 0) {
    return { ok: false, problems: poisoned.map((keys) => `${file}: ${formatKeyPath(keys)} is not allowed as a key; remove it`) };
  }
  // A file is validated once per run: zod's fast path would generate and compile a parser (new Function, which no
  // code cache keeps) for every object schema first, more than parsing one file costs without it. Same results.
  const result = configSchema.safeParse(raw, { error: fallbackPhrase, jitless: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.flatMap((issue) => describeIssue(issue, raw, file)) };
}
