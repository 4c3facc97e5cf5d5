import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';
import { validateConfig } from '../../src/config/schema.js';

const FILE = '/project/analytics.config.json';

function problemsOf(raw: unknown): string[] {
  const result = validateConfig(raw, FILE);
  assert.equal(result.ok, false, 'expected the configuration to be rejected');
  return result.ok ? [] : result.problems;
}

function accepts(raw: unknown): void {
  const result = validateConfig(raw, FILE);
  assert.ok(result.ok, `expected acceptance, got: ${result.ok ? '' : result.problems.join(' | ')}`);
}

describe('validateConfig', () => {
  it('fills in the contract defaults for an empty file', () => {
    const result = validateConfig({}, FILE);
    assert.ok(result.ok);
    assert.deepEqual(result.value, {
      collectors: './collectors',
      output: './analytics-out',
      stateFile: './.analytics-collect/state.json',
      maxDataSize: 209715200,
      gzipLevel: 6,
      collectorTimeoutMs: 3600000,
      concurrency: 4,
      lockStaleMs: 600000,
      historyKeep: 200,
      ship: { auth: 'none', headers: {}, timeoutMs: 31000, retries: 3, uploadLimit: 104857600, keepFailed: 10, requireRequestId: true },
      coordination: { lockName: 'analytics-collect', table: 'analytics_collect_state', timeoutMs: 30000 },
    });
  });

  it('accepts a full configuration and a $schema key', () => {
    accepts({
      $schema: './node_modules/analytics-collect/schema/analytics.config.schema.json',
      collectors: 'c',
      output: 'o',
      stateFile: 's.json',
      tmpDir: 't',
      maxDataSize: 1,
      gzipLevel: 9,
      collectorTimeoutMs: 5,
      packager: './packager.ts',
      ship: {
        url: 'https://console.example.com/api/ingress/v1/upload',
        tokenUrl: 'https://sso.example.com/token',
        proxy: 'http://user:pw@proxy:3128',
        contentType: 'application/vnd.redhat.tower.tower_payload+tgz',
        auth: 'service-account',
        username: 'u',
        password: 'p',
        clientId: 'id',
        clientSecret: 'secret',
        scope: 'api.console',
        token: 't',
        identity: 'eyJ',
        certFile: 'c.pem',
        keyFile: 'k.pem',
        caFile: 'ca.pem',
        headers: { 'X-Product': 'demo', 'User-Agent': 'mine/1' },
        timeoutMs: 1,
        retries: 0,
        uploadLimit: 1,
        keepFailed: 0,
      },
      coordination: { postgres: 'postgres://u:p@db:5432/app', lockName: 'x', table: 'public.state' },
    });
  });

  it('reports every problem at once, each naming the file, the key, the value and what is expected', () => {
    const problems = problemsOf({
      gzipLevel: 12,
      maxDataSize: '5',
      colectors: './c',
      ship: { retries: -1, timeoutMs: 1.5, retrys: 2, auth: 'oauth' },
      coordination: { lockname: 'x' },
    });
    assert.equal(problems.length, 8, problems.join('\n'));
    for (const problem of problems) assert.ok(problem.startsWith(`${FILE}: `), problem);
    const expected = [
      /gzipLevel must be an integer from 1 to 9, got 12$/,
      /maxDataSize must be an integer > 0 \(bytes\), got "5"$/,
      /colectors is not a known setting; did you mean collectors\?$/,
      /ship\.retries must be an integer >= 0, got -1$/,
      /ship\.timeoutMs must be an integer from 1 to 2147483647 \(milliseconds\), got 1\.5$/,
      /ship\.retrys is not a known setting; did you mean ship\.retries\?$/,
      /ship\.auth must be one of basic, service-account, bearer, mtls, identity, none, got "oauth"$/,
      /coordination\.lockname is not a known setting; did you mean coordination\.lockName\?$/,
    ];
    for (const pattern of expected) assert.ok(problems.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n${problems.join('\n')}`);
  });

  it('reports an unknown key in coordination with a suggestion', () => {
    assert.deepEqual(problemsOf({ coordination: { lockname: 'x' } }), [
      `${FILE}: coordination.lockname is not a known setting; did you mean coordination.lockName?`,
    ]);
  });

  it('lists the allowed keys when an unknown key resembles none', () => {
    const [problem] = problemsOf({ ship: { banana: 1 } });
    assert.match(problem!, /ship\.banana is not a known setting; remove it \(allowed: url, tokenUrl, .*keepFailed, requireRequestId, trackUrl\)$/);
  });

  it('rejects a file that is not an object, and sections that are not objects', () => {
    assert.deepEqual(problemsOf([1]), [`${FILE}: the configuration must be an object of settings, got an array`]);
    assert.deepEqual(problemsOf('collectors: x'), [`${FILE}: the configuration must be an object of settings, got a string`]);
    assert.deepEqual(problemsOf({ ship: 'https://x' }), [`${FILE}: ship must be an object of ship.* settings, got "https://x"`]);
    assert.deepEqual(problemsOf({ coordination: null }), [`${FILE}: coordination must be an object of coordination.* settings, got null`]);
  });

  it('never shows the value of a secret key, only its type', () => {
    const secrets = ['hunter2-password', 'cs-0123456789', 'tok-abcdef', 'identity-xyz', 'libpq-pass'];
    const problems = problemsOf({
      ship: {
        password: ['hunter2-password'],
        clientSecret: { value: 'cs-0123456789' },
        token: ['tok-abcdef'],
        identity: ['identity-xyz'],
        headers: { 'X-Api-Key': ['api-key-value'] },
      },
      coordination: { postgres: 'mysql://user:libpq-pass@db/x' },
    });
    assert.equal(problems.length, 6, problems.join('\n'));
    const text = problems.join('\n');
    for (const secret of [...secrets, 'api-key-value']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.match(text, /ship\.password must be a non-empty string, got an array/);
    assert.match(text, /ship\.clientSecret must be a non-empty string, got an object/);
    assert.match(text, /coordination\.postgres must be a postgres:\/\/ or postgresql:\/\/ URL or a libpq key=value connection string, got a string/);
  });

  it('masks the userinfo of a bad URL', () => {
    const [problem] = problemsOf({ ship: { url: 'ftp://alice:s3cret-pw@ingress.example.com/upload' } });
    assert.equal(problem, `${FILE}: ship.url must be an http:// or https:// URL, got "ftp://***@ingress.example.com/upload"`);
  });

  const table = <T>(cases: [T, boolean][], build: (value: T) => unknown) => {
    for (const [value, ok] of cases) {
      const result = validateConfig(build(value), FILE);
      assert.equal(result.ok, ok, `${JSON.stringify(value)}: ${result.ok ? 'accepted' : result.problems.join(' | ')}`);
    }
  };

  it('checks ship.contentType against the vendor-tree +tgz form', () => {
    table(
      [
        ['application/vnd.redhat.tower.tower_payload+tgz', true],
        ['application/vnd.acme.analytics+tgz', true],
        ['application/vnd.redhat.openshift.periodic+tgz', true],
        ['application/vnd.acme+tgz', false],
        ['application/gzip', false],
        ['application/vnd.redhat.a.b+tgz; charset=x', false],
        ['text/vnd.a.b+tgz', false],
        ['', false],
      ],
      (contentType) => ({ ship: { contentType } }),
    );
  });

  it('accepts only http(s) URLs for url, tokenUrl and proxy', () => {
    for (const key of ['url', 'tokenUrl', 'proxy']) {
      table(
        [
          ['https://console.redhat.com/api/ingress/v1/upload', true],
          ['http://127.0.0.1:8080/upload', true],
          ['http://user:pass@[::1]:3128', true],
          ['ftp://example.com/x', false],
          ['example.com/upload', false],
          ['https://', false],
          ['', false],
        ],
        (value) => ({ ship: { [key]: value } }),
      );
    }
  });

  it('accepts postgres URLs and libpq key=value strings for coordination.postgres', () => {
    table(
      [
        ['postgres://user:pass@db.example.com:5432/app', true],
        ['postgresql:///app?host=/var/run/postgresql', true],
        ['host=db port=5432 dbname=app user=collector', true],
        ["host=db password='it''s' dbname=app", false],
        ["host=db password='a b\\'c' dbname=app", true],
        ['mysql://db/app', false],
        ['just some words', false],
        ['', false],
      ],
      (postgres) => ({ coordination: { postgres } }),
    );
  });

  it('checks ranges at the edges', () => {
    table(
      [
        [{ gzipLevel: 1 }, true],
        [{ gzipLevel: 9 }, true],
        [{ gzipLevel: 0 }, false],
        [{ gzipLevel: 10 }, false],
        [{ maxDataSize: 0 }, false],
        [{ maxDataSize: Number.POSITIVE_INFINITY }, false],
        [{ collectorTimeoutMs: 0 }, false],
        [{ ship: { retries: 0, keepFailed: 0 } }, true],
        [{ ship: { uploadLimit: 0 } }, false],
        [{ ship: { timeoutMs: 0 } }, false],
        [{ coordination: { table: 'state; drop table x' } }, false],
        [{ collectors: '' }, false],
      ],
      (raw) => raw,
    );
  });

  it('rejects an Authorization header whatever its case, and bad header names and values', () => {
    const problems = problemsOf({ ship: { headers: { authorization: 'Bearer abcdefgh', 'Bad Name': 'x', 'X-Ok': 'a\r\nInjected: 1' } } });
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, /ship\.headers\.authorization is not allowed: credentials are set with ship\.auth/);
    assert.match(problems.join('\n'), /ship\.headers\["Bad Name"\] is not an HTTP header name/);
    assert.match(problems.join('\n'), /ship\.headers\.X-Ok must be a string without line breaks, got a string/);
    assert.ok(!problems.join('\n').includes('abcdefgh'));
    assert.equal(problemsOf({ ship: { headers: { AUTHORIZATION: 'x' } } }).length, 1);
  });
});

describe('JSON Schema', () => {
  const committed = new URL('../../schema/analytics.config.schema.json', import.meta.url);

  it('is in sync with the zod schema (regenerate: node --import tsx src/config/write-schema.ts)', () => {
    assert.equal(
      readFileSync(committed, 'utf8'),
      configJsonSchemaText(),
      'schema/analytics.config.schema.json is stale: run `node --import tsx src/config/write-schema.ts` (npm run schema)',
    );
  });

  it('describes every key and forbids unknown keys at every level', () => {
    const walk = (node: Record<string, unknown>, at: string): void => {
      assert.equal(node.additionalProperties, false, `${at || 'top level'} allows unknown keys`);
      for (const [key, child] of Object.entries(node.properties as Record<string, Record<string, unknown>>)) {
        assert.equal(typeof child.description, 'string', `${at}${key} has no description`);
        if (child.type === 'object' && child.properties) walk(child, `${at}${key}.`);
      }
    };
    walk(configJsonSchema(), '');
  });

  it('marks no key as required and carries the defaults', () => {
    const schema = configJsonSchema() as { required?: unknown; properties: Record<string, { default?: unknown }> };
    assert.equal(schema.required, undefined);
    assert.equal(schema.properties.gzipLevel?.default, 6);
    assert.equal(schema.properties.maxDataSize?.default, 209715200);
  });
});
