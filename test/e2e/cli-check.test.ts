/**
 * `check [--ship] [--json]` through the real CLI (contract §9): settings with their sources, the config file or
 * where it was searched for, collectors and skipped entries, locations, the lock, and the ingress test request
 * against real local HTTP(S) servers — each verdict in words.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { cleanEnv, cli, closedPort, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { startIngress, startProxy, type IngressOptions, type TestIngress } from '../helpers/ingress.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';

interface CheckDoc {
  config: { file: string | null; searched: { from: string; to: string } | null };
  settings: { key: string; value: string; source: string }[];
  collectors: { list: { key: string }[]; skipped: { name: string; reason: string }[]; error: string | null };
  locations: { name: string; ok: boolean; detail: string }[];
  lock: { held: boolean; detail: string };
  ship: { configured: boolean; ok: boolean | null; verdict: string; problem: string | null } | null;
  exitCode: number;
  error?: { exitCode: number; message: string };
}

const doc = (stdout: string): CheckDoc => JSON.parse(stdout) as CheckDoc;

describe('check', () => {
  let project: Project;
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => cli(['check', ...args], { cwd: project.dir, env: cleanEnv(env) });

  before(async () => {
    requireBuild();
    project = await makeProject();
    await project.collector('hosts.mjs', `import { register } from 'analytics-collect';
export const hosts = register({ key: 'hosts', version: '1.0' }, async () => ({ n: 1 }));\n`);
    await project.collector('_helper.ts', 'export const x = 1;\n');
    await project.collector('legacy.cjs', 'module.exports = {};\n');
    await project.collector('notes.txt', 'hello\n');
    await project.collector('plain.mjs', 'export const answer = 42;\n');
    await mkdir(join(project.collectors, 'more'));
  });
  after(() => project.cleanup());

  it('reports the config file, settings with sources (secrets ***), collectors and every skipped entry; exit 0', async () => {
    const { code, stdout, stderr } = await run(['--json'], { ANALYTICS_PASSWORD: 'Sup3r-s3cret-pw!' });
    assert.equal(code, 0, stderr);
    const report = doc(stdout);
    assert.equal(report.config.file, project.configFile);
    const setting = (key: string) => report.settings.find((s) => s.key === key);
    assert.deepEqual(setting('output'), { key: 'output', value: project.output, source: 'file' });
    assert.deepEqual(setting('gzipLevel'), { key: 'gzipLevel', value: '6', source: 'default' });
    assert.deepEqual(setting('ship.password'), { key: 'ship.password', value: '***', source: 'environment' });
    assert.ok(!stdout.includes('Sup3r-s3cret-pw!') && !stderr.includes('Sup3r-s3cret-pw!'));
    assert.deepEqual(report.collectors.list.map((c) => c.key), ['config', 'hosts']);
    assert.deepEqual(
      report.collectors.skipped.map((s) => s.name),
      ['_helper.ts', 'legacy.cjs', 'more/', 'notes.txt', 'plain.mjs'],
    );
    const why = Object.fromEntries(report.collectors.skipped.map((s) => [s.name, s.reason]));
    assert.match(why['legacy.cjs']!, /CommonJS/);
    assert.match(why['_helper.ts']!, /starts with _/);
    assert.match(why['more/']!, /a folder/);
    assert.match(why['plain.mjs']!, /no register\(\) export/);
    assert.ok(report.locations.every((l) => l.ok));
    assert.equal(report.lock.held, false);
    assert.equal(report.ship, null);
  });

  it('a flag is a source too; the text report names each section', async () => {
    const { code, stdout } = await run(['--collectors', project.collectors]);
    assert.equal(code, 0);
    assert.match(stdout, /^Config file: .*analytics\.config\.json$/m);
    assert.match(stdout, /^ {2}collectors +\S+ +flag$/m);
    assert.match(stdout, /^Skipped:$/m);
    assert.match(stdout, /^ {2}legacy\.cjs +CommonJS/m);
    assert.match(stdout, /^Lock: free/m);
    assert.match(stdout, /check --ship/);
  });

  it('a held lock is reported with its holder, not an error', async () => {
    await mkdir(dirname(project.lockFile), { recursive: true });
    await writeFile(project.lockFile, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    try {
      const { code, stdout } = await run(['--json']);
      assert.equal(code, 0);
      const report = doc(stdout);
      assert.equal(report.lock.held, true);
      assert.match(report.lock.detail, new RegExp(`pid ${process.pid}`));
    } finally {
      await rm(project.lockFile, { force: true });
    }
  });

  it('an output location that cannot be a folder is exit 2, with the report and the JSON error in one document', async () => {
    const blocked = join(project.dir, 'blocked');
    await writeFile(blocked, 'a file, not a folder');
    await project.configure({ output: './blocked' });
    const { code, stdout, stderr } = await run(['--json']);
    await project.configure({});
    assert.equal(code, 2);
    const report = doc(stdout);
    assert.equal(report.error?.exitCode, 2);
    assert.match(report.error.message, /output .*blocked: exists but is not a folder/);
    assert.equal(report.locations.find((l) => l.name === 'output')?.ok, false);
    assert.match(stderr, /^analytics-collect: check: output /m);
  });

  it('no config file: says where it searched and to run init', async () => {
    const empty = join(project.dir, 'empty');
    await mkdir(join(empty, 'collectors'), { recursive: true });
    await writeFile(join(empty, 'package.json'), '{}');
    await writeFile(join(empty, 'collectors', 'config.mjs'), `import { register } from 'analytics-collect';
export const config = register({ key: 'config', version: '1', config: true }, async () => ({}));\n`);
    const { code, stdout } = await cli(['check'], { cwd: empty, env: cleanEnv() });
    assert.equal(code, 0, stdout);
    assert.match(stdout, new RegExp(`^Config file: no config found \\(searched from ${empty} up to ${empty}\\); run \`analytics-collect init\`$`, 'm'));
  });

  it('--ship without shipping configured is exit 4 naming what is missing', async () => {
    const { code, stdout } = await run(['--ship', '--json']);
    assert.equal(code, 4);
    const report = doc(stdout);
    assert.equal(report.ship?.configured, false);
    assert.match(report.error!.message, /shipping is not configured/);
  });
});

describe('check --ship: the ingress test request', () => {
  let project: Project;
  let certs: TestCerts;
  const servers: { close(): Promise<void> }[] = [];

  before(async () => {
    requireBuild();
    certs = await makeTestCerts();
    project = await makeProject();
  });
  after(async () => {
    for (const s of servers) await s.close();
    await project.cleanup();
    await certs.cleanup();
  });

  const ingressWith = async (options: IngressOptions): Promise<TestIngress> => {
    const ingress = await startIngress(options);
    servers.push(ingress);
    return ingress;
  };
  const tls = (extra: Partial<NonNullable<IngressOptions['tls']>> = {}): IngressOptions['tls'] => ({ key: certs.serverKey, cert: certs.serverCert, ...extra });

  const check = async (ship: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    await project.configure({ ship: { contentType: CONTENT_TYPE, ...ship } });
    const result = await cli(['check', '--ship', '--json'], { cwd: project.dir, env: cleanEnv(env) });
    return { ...result, report: doc(result.stdout) };
  };

  it('OK over https with the CA file and a service-account token really fetched: status, time, request id', async () => {
    const ingress = await ingressWith({ tls: tls(), auth: { mode: 'service-account', clientId: 'id-1', clientSecret: 'client-secret-value-1' } });
    const { code, report, stderr, stdout } = await check(
      { url: ingress.url, tokenUrl: ingress.tokenUrl, auth: 'service-account', caFile: certs.caFile },
      { ANALYTICS_CLIENT_ID: 'id-1', ANALYTICS_CLIENT_SECRET: 'client-secret-value-1' },
    );
    assert.equal(code, 0, stderr);
    assert.equal(report.ship?.ok, true);
    assert.match(report.ship.verdict, /^OK: 200 in \d+ ms, request id [0-9a-f]{32}$/);
    assert.equal(ingress.tokenRequests.length, 1);
    assert.equal(ingress.tokenRequests[0]!.status, 200);
    const request = ingress.requests.at(-1)!;
    assert.deepEqual(request.parts, ['test']);
    assert.equal(request.file, undefined);
    assert.ok(!stdout.includes('client-secret-value-1') && !stdout.includes(ingress.issuedTokens[0]!));
  });

  it('TLS: an unknown CA is "certificate not trusted (set ship.caFile)", exit 1', async () => {
    const ingress = await ingressWith({ tls: tls({ key: certs.strangerKey, cert: certs.strangerCert }) });
    const { code, report } = await check({ url: ingress.url, caFile: certs.caFile });
    assert.equal(code, 1);
    assert.match(report.ship!.verdict, /^TLS: certificate not trusted \(.*set ship\.caFile/);
  });

  it('mTLS: a client certificate the server does not accept is refused, naming certFile and keyFile', async () => {
    const ingress = await ingressWith({ tls: tls({ ca: certs.caCert, requestCert: true, maxVersion: 'TLSv1.2' }), auth: { mode: 'mtls' } });
    const strangerCert = join(certs.dir, 'stranger.crt');
    const strangerKey = join(certs.dir, 'stranger.key');
    await writeFile(strangerCert, certs.strangerCert);
    await writeFile(strangerKey, certs.strangerKey);
    const refused = await check({ url: ingress.url, auth: 'mtls', caFile: certs.caFile, certFile: strangerCert, keyFile: strangerKey });
    assert.equal(refused.code, 1);
    assert.match(refused.report.ship!.verdict, /^TLS: .*(refused our client certificate|closed the connection during the handshake).*ship\.certFile and ship\.keyFile/);
    const accepted = await check({ url: ingress.url, auth: 'mtls', caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.report.ship!.verdict, /^OK: 200/);
  });

  it('401: the credentials were refused', async () => {
    const ingress = await ingressWith({ auth: { mode: 'basic', username: 'u', password: 'right-password' } });
    const { code, report } = await check({ url: ingress.url, auth: 'basic' }, { ANALYTICS_USERNAME: 'u', ANALYTICS_PASSWORD: 'wrong-password' });
    assert.equal(code, 1);
    assert.match(report.ship!.verdict, /^401: the credentials were refused/);
  });

  it('415 is named with what to check', async () => {
    const ingress = await ingressWith({});
    ingress.misbehave({ status: 415, body: '' });
    const { code, report } = await check({ url: ingress.url });
    assert.equal(code, 1);
    assert.match(report.ship!.verdict, /^415: .*ship\.url the upload endpoint.*ship\.contentType/);
  });

  it('a refused connection names host and port', async () => {
    const port = await closedPort();
    const { code, report } = await check({ url: `http://127.0.0.1:${port}/api/ingress/v1/upload` });
    assert.equal(code, 1);
    assert.equal(report.ship!.verdict.split(':')[0], 'connection refused by 127.0.0.1');
    assert.match(report.ship!.verdict, new RegExp(`127\\.0\\.0\\.1:${port}: nothing listens there`));
  });

  it('DNS: an unresolvable host is "not found"', async () => {
    // A label over 63 characters: the resolver refuses it without sending any query off this machine.
    const host = `${'x'.repeat(64)}.corp`;
    const { code, report } = await check({ url: `http://${host}/api/ingress/v1/upload` });
    assert.equal(code, 1);
    assert.equal(report.ship!.verdict, `DNS: ${host} not found`);
  });

  it('through a proxy: the test request tunnels through it and is OK', async () => {
    const ingress = await ingressWith({ tls: tls() });
    const proxy = await startProxy();
    servers.push(proxy);
    const { code, report, stderr } = await check({ url: ingress.url, caFile: certs.caFile, proxy: proxy.url });
    assert.equal(code, 0, stderr);
    assert.match(report.ship!.verdict, /^OK: 200/);
    assert.deepEqual(proxy.connects, [`127.0.0.1:${ingress.port}`]);
  });

  it("a packager's custom transport is checked by its check() hook, else reported not checked", async () => {
    await writeFile(join(project.dir, 'packager.mjs'), `export default {
  isShippingConfigured: () => true,
  ship: async () => ({ ok: true }),
  ${'check'}: async () => process.env.BUCKET_OK === '1' ? { ok: true, message: 'bucket reachable' } : { ok: false, error: 'bucket missing' },
};\n`);
    await writeFile(join(project.dir, 'plain-packager.mjs'), 'export default { isShippingConfigured: () => true, ship: async () => ({ ok: true }) };\n');
    const run = async (packager: string, env: NodeJS.ProcessEnv = {}) => {
      await project.configure({ packager });
      const result = await cli(['check', '--ship', '--json'], { cwd: project.dir, env: cleanEnv(env) });
      return { ...result, report: doc(result.stdout) };
    };
    const ok = await run('./packager.mjs', { BUCKET_OK: '1' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.report.ship!.verdict, 'OK: packager check() passed: bucket reachable');
    const failed = await run('./packager.mjs');
    assert.equal(failed.code, 1);
    assert.equal(failed.report.ship!.verdict, 'packager check() failed: bucket missing');
    const plain = await run('./plain-packager.mjs');
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.report.ship!.verdict, /^not checked: packager .* has ship\(\) but no check\(\)$/);
    await project.configure({});
  });
});
