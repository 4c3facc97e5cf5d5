/**
 * The keys contract §6 revision 2 added: bounds, redact (§10), the derived track URL, and where values came from.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyPackager, deriveTrackUrl, loadConfigWithSources } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/schema.js';
import { AppError } from '../../src/errors.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'ac-keys-')));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A project directory (with .git) holding analytics.config.json = `content`. */
function project(content: unknown): string {
  const dir = join(root, `p${counter++}`);
  mkdirSync(join(dir, '.git'), { recursive: true });
  if (content !== undefined) writeFileSync(join(dir, 'analytics.config.json'), JSON.stringify(content));
  return dir;
}

const FILE = '/p/analytics.config.json';
const KEY = 'k'.repeat(16);

function problems(raw: unknown): string[] {
  const result = validateConfig(raw, FILE);
  assert.equal(result.ok, false, 'expected a rejection');
  return result.ok ? [] : result.problems;
}

async function loadProblem(content: unknown, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const dir = project(content);
  try {
    await loadConfigWithSources({ cwd: dir, flags: {}, env });
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  return assert.fail('expected exit 2');
}

describe('durations and counts', () => {
  it('bounds every duration by 2147483647 ms', () => {
    for (const [key, raw] of [
      ['collectorTimeoutMs', { collectorTimeoutMs: 2592000000 }],
      ['lockStaleMs', { lockStaleMs: 2147483648 }],
      ['ship.timeoutMs', { ship: { timeoutMs: 2147483648 } }],
      ['coordination.timeoutMs', { coordination: { timeoutMs: 1e12 } }],
    ] as const) {
      const [problem] = problems(raw);
      assert.match(problem!, new RegExp(`^${FILE}: ${key.replace('.', '\\.')} must be an integer from \\d+ to 2147483647 \\(milliseconds\\)`));
    }
    assert.ok(validateConfig({ collectorTimeoutMs: 2147483647, ship: { timeoutMs: 2147483647 }, lockStaleMs: 2147483647 }, FILE).ok);
  });

  it('checks concurrency, lockStaleMs, historyKeep and coordination.timeoutMs ranges', () => {
    assert.match(problems({ concurrency: 0 })[0]!, /concurrency must be an integer from 1 to 64, got 0$/);
    assert.match(problems({ concurrency: 65 })[0]!, /concurrency must be an integer from 1 to 64, got 65$/);
    assert.match(problems({ lockStaleMs: 59999 })[0]!, /lockStaleMs must be an integer from 60000 to 2147483647/);
    assert.match(problems({ historyKeep: 0 })[0]!, /historyKeep must be an integer > 0, got 0$/);
    assert.match(problems({ coordination: { timeoutMs: 999 } })[0]!, /coordination\.timeoutMs must be an integer from 1000 to 2147483647/);
    assert.match(problems({ ship: { requireRequestId: 'no' } })[0]!, /ship\.requireRequestId must be true or false, got "no"$/);
    assert.match(problems({ ship: { trackUrl: 'ftp://x' } })[0]!, /ship\.trackUrl must be an http:\/\/ or https:\/\/ URL/);
  });
});

describe('resolved paths and URLs', () => {
  it('puts the history beside the state file and resolves metricsFile and historyFile from the file', async () => {
    const dir = project({ stateFile: 'var/s.json' });
    const { config } = await loadConfigWithSources({ cwd: dir, flags: {}, env: {} });
    assert.equal(config.historyFile, join(dir, 'var/history.jsonl'));
    assert.equal(config.metricsFile, null);
    const other = project({ historyFile: 'h.jsonl', metricsFile: 'm.prom', historyKeep: 3, concurrency: 2 });
    const loaded = await loadConfigWithSources({ cwd: other, flags: {}, env: {} });
    assert.equal(loaded.config.historyFile, join(other, 'h.jsonl'));
    assert.equal(loaded.config.metricsFile, join(other, 'm.prom'));
    assert.equal(loaded.config.historyKeep, 3);
    assert.equal(loaded.config.concurrency, 2);
    const flagged = await loadConfigWithSources({ cwd: other, flags: { metricsFile: 'flag.prom' }, env: {} });
    assert.equal(flagged.config.metricsFile, join(other, 'flag.prom'));
    assert.equal(flagged.sources.get('metricsFile'), 'flag');
  });

  it('derives ship.trackUrl from a last path segment "upload"', async () => {
    assert.equal(deriveTrackUrl('https://console.example.com/api/ingress/v1/upload'), 'https://console.example.com/api/ingress/v1/track');
    assert.equal(deriveTrackUrl('https://h/upload/?x=1#f'), 'https://h/track/');
    assert.equal(deriveTrackUrl('https://h/api/uploads'), null);
    assert.equal(deriveTrackUrl('https://h/'), null);
    assert.equal(deriveTrackUrl(undefined), null);
    const dir = project({ ship: { url: 'https://ingress.test/api/v1/upload' } });
    assert.equal((await loadConfigWithSources({ cwd: dir, flags: {}, env: {} })).config.ship.trackUrl, 'https://ingress.test/api/v1/track');
    const given = project({ ship: { url: 'https://ingress.test/api/v1/upload', trackUrl: 'https://t.test/track' } });
    assert.equal((await loadConfigWithSources({ cwd: given, flags: {}, env: {} })).config.ship.trackUrl, 'https://t.test/track');
  });
});

describe('redact (§10)', () => {
  it('resolves rules per key as a Map, with the key from the environment and compiled patterns', async () => {
    const dir = project({
      redact: {
        rules: {
          '*': { mask: [{ pattern: '\\b(?:\\d{1,3}\\.){3}\\d{1,3}\\b', replace: '0.0.0.0' }] },
          events: { drop: ['email'], hash: ['user'] },
          constructor: { mask: [{ pattern: 'x', columns: ['a'] }] },
        },
      },
    });
    const { config } = await loadConfigWithSources({ cwd: dir, flags: {}, env: { ANALYTICS_REDACT_KEY: KEY } });
    const redact = config.redact!;
    assert.equal(redact.keyEnv, 'ANALYTICS_REDACT_KEY');
    assert.equal(redact.key, KEY);
    assert.deepEqual([...redact.rules.keys()], ['*', 'events', 'constructor']);
    const star = redact.rules.get('*')!;
    assert.equal(star.mask[0]!.pattern.flags, 'gu');
    assert.equal(star.mask[0]!.replace, '0.0.0.0');
    assert.equal(star.mask[0]!.columns, null);
    assert.deepEqual(redact.rules.get('events'), { drop: ['email'], hash: ['user'], mask: [] });
    assert.equal(redact.rules.get('constructor')!.mask[0]!.replace, '***');
    assert.deepEqual(redact.rules.get('constructor')!.mask[0]!.columns, ['a']);
  });

  it('refuses hash rules without a key, or with a short one, naming the key path, the variable and the file, never the key', async () => {
    const content = { redact: { keyEnv: 'MY_KEY', rules: { events: { hash: ['user'] } } } };
    const missing = await loadProblem(content, {});
    assert.match(missing, /analytics\.config\.json: redact\.rules\.events\.hash needs a key: set the environment variable MY_KEY/);
    const short = await loadProblem(content, { MY_KEY: 'short-secret' });
    assert.match(short, /analytics\.config\.json: redact\.keyEnv: the environment variable MY_KEY must hold at least 16 characters, got 12/);
    assert.ok(!short.includes('short-secret'));
    // Without hash rules no key is needed.
    const dir = project({ redact: { rules: { events: { drop: ['x'] } } } });
    assert.equal((await loadConfigWithSources({ cwd: dir, flags: {}, env: {} })).config.redact!.key, null);
  });

  it('refuses bad patterns, unknown fields and bad rule keys, naming each key path', () => {
    const found = problems({
      redact: {
        rules: {
          events: { mask: [{ pattern: '(' }, { pattern: 'a', colums: ['x'] }], dorp: ['x'] },
          'bad key!': {},
        },
        extra: 1,
      },
    });
    const text = found.join('\n');
    assert.match(text, /redact\.rules\.events\.mask\[0\]\.pattern must be a valid JavaScript regular expression, got "\("/);
    assert.match(text, /redact\.rules\.events\.mask\[1\]\.colums is not a known setting; did you mean redact\.rules\.events\.mask\[1\]\.columns\?/);
    assert.match(text, /redact\.rules\.events\.dorp is not a known setting; remove it \(allowed: drop, hash, mask\)/);
    assert.match(text, /redact\.rules\["bad key!"\] is not a collector key/);
    assert.match(text, /redact\.extra is not a known setting/);
    for (const line of found) assert.ok(line.startsWith(`${FILE}: `), line);
  });

  it('refuses a __proto__ key anywhere instead of dropping it silently', () => {
    const found = problems(JSON.parse('{"redact":{"rules":{"__proto__":{"drop":["a"]}}},"ship":{"headers":{"__proto__":"x"}}}'));
    assert.deepEqual(found, [
      `${FILE}: redact.rules.__proto__ is not allowed as a key; remove it`,
      `${FILE}: ship.headers.__proto__ is not allowed as a key; remove it`,
    ]);
  });
});

describe('sources', () => {
  it('tells flag, environment, file, packager and default apart, and the searched range without a file', async () => {
    const dir = project({ gzipLevel: 3, ship: { username: 'file-user' } });
    const loaded = await loadConfigWithSources({ cwd: dir, flags: { output: 'o' }, env: { ANALYTICS_PASSWORD: 'pw', ANALYTICS_USERNAME: '' } });
    assert.equal(loaded.file, join(dir, 'analytics.config.json'));
    assert.equal(loaded.searched, null);
    assert.equal(loaded.sources.get('output'), 'flag');
    assert.equal(loaded.sources.get('ship.password'), 'environment');
    assert.equal(loaded.sources.get('ship.username'), 'file');
    assert.equal(loaded.sources.get('gzipLevel'), 'file');
    assert.equal(loaded.sources.get('maxDataSize'), 'default');
    const packaged = applyPackager(loaded, { maxDataSize: 5, contentType: 'application/vnd.redhat.a.b+tgz' });
    assert.equal(packaged.sources.get('maxDataSize'), 'packager');
    assert.equal(packaged.config.maxDataSize, 5);
    assert.equal(loaded.sources.get('maxDataSize'), 'default', 'the input is not changed');

    const bare = project(undefined);
    const none = await loadConfigWithSources({ cwd: bare, flags: {}, env: {} });
    assert.equal(none.file, null);
    assert.deepEqual(none.searched, { from: bare, to: bare });
  });
});
