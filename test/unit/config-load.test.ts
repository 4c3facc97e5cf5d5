import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyPackagerDefaults, ConfigError, loadConfig, loadConfigWithSources, toolVersion } from '../../src/config/load.js';
import { AppError } from '../../src/errors.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'ac-config-')));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A fresh directory with the given files (path → content; objects are written as JSON). */
function tree(files: Record<string, string | object>): string {
  const dir = join(root, `t${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) {
      mkdirSync(join(dir, path), { recursive: true });
      continue;
    }
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const load = (cwd: string, flags: { config?: string; collectors?: string; output?: string } = {}, env: NodeJS.ProcessEnv = {}) =>
  loadConfig({ cwd, flags, env });

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, 'USAGE');
    assert.equal(err.exitCode, 2);
    return err;
  }
  assert.fail('expected the configuration to be rejected');
}

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('loadConfig: discovery', () => {
  it('finds the file from a subdirectory and resolves its paths (and the defaults) from the file directory', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { collectors: 'my-collectors', packager: './pack.mjs' }, 'a/b/': '' });
    const config = await load(join(dir, 'a/b'));
    assert.equal(config.configFile, join(dir, 'analytics.config.json'));
    assert.equal(config.collectors, join(dir, 'my-collectors'));
    assert.equal(config.packager, join(dir, 'pack.mjs'));
    assert.equal(config.output, join(dir, 'analytics-out'));
    assert.equal(config.stateFile, join(dir, '.analytics-collect/state.json'));
  });

  it('stops at the nearest directory holding package.json', async () => {
    const dir = tree({ 'analytics.config.json': { gzipLevel: 1 }, 'proj/package.json': {}, 'proj/src/': '' });
    const config = await load(join(dir, 'proj/src'));
    assert.equal(config.configFile, null);
    assert.equal(config.gzipLevel, 6);
  });

  it('stops at the nearest directory holding .git', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { gzipLevel: 1 }, 'repo/.git/HEAD': 'ref: x', 'repo/sub/': '' });
    const config = await load(join(dir, 'repo/sub'));
    assert.equal(config.configFile, null);
  });

  it('searches the project root itself, past a package.json without an "analytics" key', async () => {
    const dir = tree({ 'package.json': { name: 'x' }, '.analyticsrc.json': { gzipLevel: 2 }, 'sub/': '' });
    const config = await load(join(dir, 'sub'));
    assert.equal(config.configFile, join(dir, '.analyticsrc.json'));
    assert.equal(config.gzipLevel, 2);
  });

  it('prefers the file nearest to the current directory', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { gzipLevel: 1 }, 'sub/.analyticsrc.json': { gzipLevel: 2 } });
    assert.equal((await load(join(dir, 'sub'))).gzipLevel, 2);
  });

  it('uses the defaults, resolved from the current directory, when no file is found', async () => {
    const dir = tree({ '.git/': '', 'work/': '' });
    const cwd = join(dir, 'work');
    const config = await load(cwd);
    assert.deepEqual(config, {
      configFile: null,
      collectors: join(cwd, 'collectors'),
      output: join(cwd, 'analytics-out'),
      stateFile: join(cwd, '.analytics-collect/state.json'),
      tmpDir: tmpdir(),
      maxDataSize: 209715200,
      gzipLevel: 6,
      collectorTimeoutMs: 3600000,
      concurrency: 4,
      lockStaleMs: 600000,
      historyFile: join(cwd, '.analytics-collect/history.jsonl'),
      historyKeep: 200,
      metricsFile: null,
      redact: null,
      packager: null,
      ship: {
        auth: 'none',
        headers: { 'User-Agent': `analytics-collect/${packageVersion}` },
        timeoutMs: 31000,
        retries: 3,
        uploadLimit: 104857600,
        keepFailed: 10,
        requireRequestId: true,
        trackUrl: null,
      },
      coordination: { lockName: 'analytics-collect', table: 'analytics_collect_state', timeoutMs: 30000 },
    });
    assert.equal(toolVersion(), packageVersion);
  });
});

describe('loadConfig: file formats', () => {
  const formats: [string, string | object][] = [
    ['analytics.config.json', { gzipLevel: 3 }],
    ['.analyticsrc', 'gzipLevel: 3\n'],
    ['.analyticsrc.json', { gzipLevel: 3 }],
    ['.analyticsrc.yaml', 'gzipLevel: 3\nship:\n  retries: 1\n'],
    ['.analyticsrc.yml', 'gzipLevel: 3\n'],
    ['package.json', { name: 'demo', analytics: { gzipLevel: 3 } }],
    ['analytics.config.mjs', 'export default { gzipLevel: 3 };\n'],
    ['analytics.config.js', 'export default { gzipLevel: 3 };\n'],
    ['analytics.config.cjs', 'module.exports = { gzipLevel: 3 };\n'],
    ['.analyticsrc.mjs', 'export default { gzipLevel: 3 };\n'],
    // TypeScript: type syntax must be stripped, and a project without "type": "module" must still work.
    ['analytics.config.ts', 'const level: number = 3;\nexport default { gzipLevel: level } satisfies Record<string, unknown>;\n'],
    ['.analyticsrc.ts', 'interface C { gzipLevel: number }\nconst c: C = { gzipLevel: 3 };\nexport default c;\n'],
    ['analytics.config.mts', 'export default { gzipLevel: 3 as number };\n'],
  ];
  for (const [name, content] of formats) {
    it(`reads ${name}`, async () => {
      const files: Record<string, string | object> = { [name]: content };
      if (name !== 'package.json') files['.git/'] = '';
      if (name.endsWith('.js')) files['package.json'] = { type: 'module' };
      const dir = tree(files);
      const config = await load(dir);
      assert.equal(config.configFile, join(dir, name));
      assert.equal(config.gzipLevel, 3);
    });
  }

  it('reads a TypeScript file given with --config from outside any project', async () => {
    const dir = tree({ 'conf/settings.ts': 'export default { collectors: "../c" as string };\n' });
    const config = await load(dir, { config: 'conf/settings.ts' });
    assert.equal(config.configFile, join(dir, 'conf/settings.ts'));
    assert.equal(config.collectors, join(dir, 'c'));
  });

  it('refuses an empty --config file, or one holding null, naming it and the fix', async () => {
    const dir = tree({ 'empty.json': '', 'blank.yaml': '  \n', 'null.json': 'null', 'null.yaml': '~\n', 'braces.json': '{}' });
    for (const name of ['empty.json', 'blank.yaml']) {
      await assert.rejects(load(dir, { config: name }), (err: Error) => {
        assert.equal((err as AppError).exitCode, 2);
        assert.equal(err.message, `--config ${join(dir, name)}: is empty; write {} for every default, or remove the file`);
        return true;
      });
    }
    for (const name of ['null.json', 'null.yaml']) {
      await assert.rejects(load(dir, { config: name }), { message: `--config ${join(dir, name)}: holds null; write {} for every default, or remove the file` });
    }
    assert.equal((await load(dir, { config: 'braces.json' })).gzipLevel, 6);
  });

  it('refuses an empty or null configuration file found by the search instead of skipping it', async () => {
    const empty = tree({ '.git/': '', '.analyticsrc.json': '' });
    await assert.rejects(load(empty), { message: /^configuration file .*\.analyticsrc\.json: is empty/ });
    const nul = tree({ '.git/': '', 'analytics.config.json': 'null' });
    await assert.rejects(load(nul), { message: /^configuration file .*analytics\.config\.json: holds null/ });
    // A package.json without an "analytics" key is not a configuration file.
    const pkg = tree({ 'package.json': { name: 'x' } });
    assert.equal((await load(pkg)).configFile, null);
  });
});

describe('loadConfig: --config and paths', () => {
  it('resolves --config from the current directory and paths in it from its own directory', async () => {
    const dir = tree({
      '.git/': '',
      'etc/analytics.json': { collectors: 'col', output: '../out', stateFile: '/var/state.json', tmpDir: 'tmp', ship: { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' } },
      'run/': '',
    });
    const cwd = join(dir, 'run');
    const config = await load(cwd, { config: '../etc/analytics.json' });
    assert.equal(config.configFile, join(dir, 'etc/analytics.json'));
    assert.equal(config.collectors, join(dir, 'etc/col'));
    assert.equal(config.output, join(dir, 'out'));
    assert.equal(config.stateFile, '/var/state.json');
    assert.equal(config.tmpDir, join(dir, 'etc/tmp'));
    assert.equal(config.ship.caFile, join(dir, 'etc/ca.pem'));
    assert.equal(config.ship.certFile, join(dir, 'etc/c.pem'));
    assert.equal(config.ship.keyFile, join(dir, 'etc/k.pem'));
  });

  it('resolves --collectors and --output from the current directory and lets them win', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { collectors: 'file-col', output: 'file-out' }, 'sub/': '' });
    const cwd = join(dir, 'sub');
    const config = await load(cwd, { collectors: 'flag-col', output: '/abs/out' });
    assert.equal(config.collectors, join(cwd, 'flag-col'));
    assert.equal(config.output, '/abs/out');
  });

  it('--config wins over a discoverable file', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { gzipLevel: 1 }, 'other.yaml': 'gzipLevel: 8\n' });
    assert.equal((await load(dir, { config: 'other.yaml' })).gzipLevel, 8);
  });

  it('names a missing --config file', async () => {
    const dir = tree({ '.git/': '' });
    const err = await rejection(load(dir, { config: 'nope.json' }));
    assert.equal(err.message, `--config ${join(dir, 'nope.json')}: no such file; check the path`);
  });

  it('names a --config that is a directory', async () => {
    const dir = tree({ 'conf/': '' });
    const err = await rejection(load(dir, { config: 'conf' }));
    assert.match(err.message, /^--config .*conf: is a directory/);
  });

  it('names an unparsable file without quoting its content', async () => {
    const cases: [string, string, RegExp][] = [
      ['bad.json', '{\n  "ship": { "password": "hunter2-secret", }\n}', /^--config .*bad\.json: cannot be loaded: invalid JSON at line 2, column \d+/],
      ['bad.yaml', 'ship:\n  password: "hunter2-secret\n', /^--config .*bad\.yaml: cannot be loaded: invalid YAML at line \d+, column \d+/],
      ['bad.ts', 'export default { ship: { password: "hunter2-secret" x } };\n', /^--config .*bad\.ts: cannot be loaded: TransformError at line 1, column \d+: Expected "}" but found "x"/],
      ['bad.mjs', 'export default { ship: { password: "hunter2-secret" x } };\n', /^--config .*bad\.mjs: cannot be loaded: SyntaxError: /],
    ];
    const dir = tree(Object.fromEntries(cases.map(([name, content]) => [name, content])));
    for (const [name, , pattern] of cases) {
      const err = await rejection(load(dir, { config: name }));
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('hunter2'), `${name}: secret leaked in ${err.message}`);
    }
  });

  it('names a broken file found by the search', async () => {
    const dir = tree({ 'package.json': {}, '.analyticsrc.json': '{ nope' });
    const err = await rejection(load(dir));
    assert.match(err.message, new RegExp(`^configuration file ${join(dir, '.analyticsrc.json')}: cannot be loaded: invalid JSON`));
  });
});

describe('loadConfig: validation', () => {
  it('reports every problem of the file at once, naming the file, and never a secret value', async () => {
    const dir = tree({
      'package.json': {},
      'analytics.config.json': {
        gzipLevel: 0,
        ship: { retries: 'three', password: 12345678, extra: true, url: 'https://bob:pa55word-x@ingress/upload' },
        coordination: { table: 'x y', postgress: 'postgres://u:dbsecret@h/d' },
      },
    });
    const err = await rejection(load(dir));
    assert.ok(err instanceof ConfigError);
    const file = join(dir, 'analytics.config.json');
    assert.deepEqual([...err.problems].sort(), [
      `${file}: coordination.postgress is not a known setting; did you mean coordination.postgres?`,
      `${file}: coordination.table must be a table name like analytics_collect_state or schema.table, got "x y"`,
      `${file}: gzipLevel must be an integer from 1 to 9, got 0`,
      `${file}: ship.extra is not a known setting; remove it (allowed: url, tokenUrl, proxy, contentType, auth, username, password, clientId, clientSecret, scope, token, identity, certFile, keyFile, caFile, headers, timeoutMs, retries, uploadLimit, keepFailed, requireRequestId, trackUrl)`,
      `${file}: ship.password must be a non-empty string, got a number`,
      `${file}: ship.retries must be an integer >= 0, got "three"`,
    ]);
    assert.equal(err.message, err.problems.join(';\n'));
    for (const secret of ['12345678', 'pa55word', 'dbsecret']) assert.ok(!err.message.includes(secret), `${secret} leaked`);
  });

  it('rejects a bad ANALYTICS_PG_URL without showing it, together with the file problems', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { gzipLevel: 10 } });
    const err = await rejection(load(dir, {}, { ANALYTICS_PG_URL: 'mysql://u:topsecret@h/d' }));
    assert.equal((err as ConfigError).problems.length, 2);
    assert.match(err.message, /environment variable ANALYTICS_PG_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.ok(!err.message.includes('topsecret'));
  });
});

describe('loadConfig: precedence', () => {
  it('takes secrets from the environment over the file, ignoring empty variables', async () => {
    const dir = tree({
      'package.json': {},
      'analytics.config.json': { ship: { auth: 'basic', username: 'file-user', password: 'file-pass', token: 'file-token' } },
    });
    const config = await load(dir, {}, {
      ANALYTICS_PASSWORD: 'env-pass',
      ANALYTICS_USERNAME: '',
      ANALYTICS_CLIENT_ID: 'env-id',
      ANALYTICS_CLIENT_SECRET: 'env-secret',
      ANALYTICS_IDENTITY: 'env-identity',
      ANALYTICS_PG_URL: 'host=db dbname=app',
    });
    assert.equal(config.ship.password, 'env-pass');
    assert.equal(config.ship.username, 'file-user');
    assert.equal(config.ship.token, 'file-token');
    assert.equal(config.ship.clientId, 'env-id');
    assert.equal(config.ship.clientSecret, 'env-secret');
    assert.equal(config.ship.identity, 'env-identity');
    assert.equal(config.coordination.postgres, 'host=db dbname=app');
    assert.equal((await load(dir, {}, { ANALYTICS_TOKEN: 'env-token' })).ship.token, 'env-token');
  });

  it('lets the environment supply credentials with no file at all', async () => {
    const dir = tree({ '.git/': '' });
    const config = await load(dir, {}, { ANALYTICS_TOKEN: 'only-env', ANALYTICS_PG_URL: 'postgres://db/app' });
    assert.equal(config.ship.token, 'only-env');
    assert.equal(config.coordination.postgres, 'postgres://db/app');
  });

  it('merges user headers over the default User-Agent, case-insensitively', async () => {
    const dir = tree({ 'package.json': {}, 'analytics.config.json': { ship: { headers: { 'user-agent': 'product/2.0', 'X-Product': 'demo' } } } });
    const config = await load(dir);
    assert.deepEqual(config.ship.headers, { 'user-agent': 'product/2.0', 'X-Product': 'demo' });
  });

  it('applies packager values under the file and over the defaults', async () => {
    const packager = { maxDataSize: 1000, contentType: 'application/vnd.acme.pkg.data+tgz', headers: { 'X-From': 'packager', 'X-Pack': 'p' } };

    const bare = await loadConfigWithSources({ cwd: tree({ '.git/': '' }), flags: {}, env: {} });
    const fromPackager = applyPackagerDefaults(bare.config, bare.fromFile, packager);
    assert.equal(fromPackager.maxDataSize, 1000);
    assert.equal(fromPackager.ship.contentType, 'application/vnd.acme.pkg.data+tgz');
    assert.deepEqual(fromPackager.ship.headers, { 'User-Agent': `analytics-collect/${packageVersion}`, 'X-From': 'packager', 'X-Pack': 'p' });
    assert.equal(bare.config.maxDataSize, 209715200, 'the input configuration is not modified');

    const dir = tree({
      'package.json': {},
      'analytics.config.json': { maxDataSize: 5000, ship: { contentType: 'application/vnd.acme.file.data+tgz', headers: { 'x-from': 'file' } } },
    });
    const withFile = await loadConfigWithSources({ cwd: dir, flags: {}, env: {} });
    const merged = applyPackagerDefaults(withFile.config, withFile.fromFile, packager);
    assert.equal(merged.maxDataSize, 5000);
    assert.equal(merged.ship.contentType, 'application/vnd.acme.file.data+tgz');
    assert.deepEqual(merged.ship.headers, { 'User-Agent': `analytics-collect/${packageVersion}`, 'x-from': 'file', 'X-Pack': 'p' });

    const gzipOnly = await loadConfigWithSources({ cwd: tree({ 'package.json': { analytics: { gzipLevel: 2 } } }), flags: {}, env: {} });
    assert.equal(applyPackagerDefaults(gzipOnly.config, gzipOnly.fromFile, {}).maxDataSize, 209715200);
  });
});
