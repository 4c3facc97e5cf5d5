/**
 * No secret anywhere, end to end: distinct secrets are planted in every credential — password, client secret,
 * token, identity, proxy password, and the contents of a key file — and the real CLI is driven through the
 * failure paths (401/403 and 5xx storms that echo the request headers back, a token endpoint that fails and
 * echoes, a hang, a refused connection, an unusable key file, a TLS failure, SIGINT mid-upload) at log level
 * trace with --json. Then stdout, stderr (the logs), every file the run left (tarballs — raw and unpacked —,
 * the state, failed/) are searched for each secret, URL-encoded and base64 forms included: zero hits.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { startIngress, startProxy, type TestIngress, type TestProxy } from '../helpers/ingress.js';
import { cleanEnv, closedPort, listTree, makeProject, requireBuild, runCli, type Project } from '../helpers/fault-cli.js';
import { jsonSource } from '../helpers/fault-collectors.js';

const CONTENT_TYPE = 'application/vnd.redhat.tower.tower_payload+tgz';
const SECRETS = {
  username: 'usr-Jq3v9-name',
  password: 'pw+Zk8/r@ndom-4410',
  clientId: 'cid-Hb72x-client',
  clientSecret: 'cs3cr3t-Lp09+/x=tail',
  token: 'tok-Mw51-bearer.value_88',
  identity: 'eyJpZGVudGl0eSI6ZmF1bHQtdGVzdC05OTF9',
  proxyUser: 'pxu-Rt6',
  proxyPassword: 'pxp-Vn08@pass:word',
};
/** Run-time secrets learned while running (access tokens issued by the test ingress). */
const issued: string[] = [];

let certs: TestCerts;
/** A distinctive line of the client key's base64 body: the "contents of a key file". */
let keyLine: string;
let proxy: TestProxy;
const ingresses: TestIngress[] = [];
const projects: Project[] = [];

before(async () => {
  requireBuild();
  certs = await makeTestCerts();
  keyLine = certs.clientKey.split('\n').find((l) => l.length >= 40 && !l.startsWith('-----'))!;
  assert.ok(keyLine, 'the key has a base64 body line');
  proxy = await startProxy({ username: SECRETS.proxyUser, password: SECRETS.proxyPassword });
});
after(async () => {
  await Promise.all(ingresses.map((i) => i.close()));
  await proxy.close();
  await Promise.all(projects.map((p) => p.cleanup()));
  await certs.cleanup();
});

/** Every form a secret could leak in. */
function needles(): string[] {
  const plain = [...Object.values(SECRETS), keyLine, ...issued];
  return [
    ...plain.flatMap((s) => [s, encodeURIComponent(s), Buffer.from(s).toString('base64'), JSON.stringify(s).slice(1, -1)]),
    Buffer.from(`${SECRETS.username}:${SECRETS.password}`).toString('base64'),
    Buffer.from(`${SECRETS.proxyUser}:${SECRETS.proxyPassword}`).toString('base64'),
    Buffer.from(`${SECRETS.clientId}:${SECRETS.clientSecret}`).toString('base64'),
  ];
}

/** Files the run left that may not hold a secret: all but the configuration, the collectors and the key files. */
async function leftFiles(p: Project): Promise<{ path: string; bytes: Buffer }[]> {
  const files: { path: string; bytes: Buffer }[] = [];
  for (const rel of await listTree(p.dir)) {
    if (rel === 'analytics.config.json' || rel.startsWith('collectors') || rel.endsWith('.pem')) continue;
    const path = join(p.dir, rel);
    const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => (err.code === 'EISDIR' ? null : Promise.reject(err)));
    if (bytes === null) continue;
    files.push({ path, bytes });
    if (path.endsWith('.tar.gz')) files.push({ path: `${path} (unpacked)`, bytes: gunzipSync(bytes) });
  }
  return files;
}

function assertNoSecret(where: string, text: string | Buffer): void {
  const haystack = Buffer.isBuffer(text) ? text.toString('latin1') : text;
  for (const needle of needles()) {
    const at = haystack.indexOf(needle);
    const context = JSON.stringify(haystack.slice(Math.max(0, at - 150), at + needle.length + 150));
    assert.ok(at < 0, `${where} holds a secret (${JSON.stringify(needle)}): …${context}…`);
  }
}

async function ingress(options: Parameters<typeof startIngress>[0] = {}): Promise<TestIngress> {
  const started = await startIngress(options);
  ingresses.push(started);
  return started;
}

/** A project with two tarballs' worth of collectors (two groups) and `ship` settings. */
async function project(ship: Record<string, unknown>): Promise<Project> {
  const p = await makeProject({ ship: { contentType: CONTENT_TYPE, retries: 1, timeoutMs: 2000, ...ship } });
  projects.push(p);
  await p.collector('a.mjs', jsonSource('alpha', { rows: 1 }));
  await p.collector('b.mjs', jsonSource('beta', { rows: 2 }, { group: 'other' }));
  return p;
}

const secretEnv = (): NodeJS.ProcessEnv =>
  cleanEnv({
    ANALYTICS_USERNAME: SECRETS.username,
    ANALYTICS_PASSWORD: SECRETS.password,
    ANALYTICS_CLIENT_ID: SECRETS.clientId,
    ANALYTICS_CLIENT_SECRET: SECRETS.clientSecret,
    ANALYTICS_IDENTITY: SECRETS.identity,
  });

/** Runs `gather --ship --json --log-level trace`, optionally interrupting it, and checks everything it left. */
async function shipAndSearch(p: Project, expectedCode: number, interrupt?: () => Promise<void>): Promise<string> {
  const run = runCli(['gather', '--ship', '--json', '--log-level', 'trace'], { cwd: p.dir, env: secretEnv() });
  if (interrupt) {
    await interrupt();
    run.child.kill('SIGINT');
  }
  const { code, stdout, stderr } = await run.exit;
  assert.equal(code, expectedCode, stderr);
  assertNoSecret('stdout', stdout);
  assertNoSecret('stderr', stderr);
  for (const file of await leftFiles(p)) assertNoSecret(file.path, file.bytes);
  return stderr;
}

const tlsIngress = (): Parameters<typeof startIngress>[0] => ({ tls: { key: certs.serverKey, cert: certs.serverCert } });

const proxyUrl = (): string =>
  `http://${encodeURIComponent(SECRETS.proxyUser)}:${encodeURIComponent(SECRETS.proxyPassword)}@127.0.0.1:${proxy.port}`;

describe('secrets never leave the process', { concurrency: 3 }, () => {
  it('basic auth through an authenticating proxy; the ingress echoes the headers with a 401', async () => {
    // https: credentials never cross a proxy in clear text (§5).
    const ing = await ingress(tlsIngress());
    ing.misbehave({ status: 401, echoHeaders: true });
    const p = await project({ url: ing.url, auth: 'basic', proxy: proxyUrl(), caFile: certs.caFile });
    const stderr = await shipAndSearch(p, 1);
    assert.match(stderr, /HTTP 401/);
    assert.ok(proxy.proxyAuthorizations.length > 0, 'the upload went through the proxy');
  });

  it('bearer token from the config file; a 5xx storm echoing the headers', async () => {
    const ing = await ingress();
    ing.misbehave({ status: 503, echoHeaders: true, retryAfter: '0' }, { status: 502, echoHeaders: true, retryAfter: '0' }, { status: 500, echoHeaders: true });
    const p = await project({ url: ing.url, auth: 'bearer', token: SECRETS.token });
    const stderr = await shipAndSearch(p, 1);
    assert.match(stderr, /HTTP 50\d/);
  });

  it('identity header; a 403 echoing the headers', async () => {
    const ing = await ingress();
    ing.misbehave({ status: 403, echoHeaders: true });
    const p = await project({ url: ing.url, auth: 'identity' });
    await shipAndSearch(p, 1);
  });

  it('service account: the token endpoint fails and echoes; then uploads fail and echo the issued token', async () => {
    const ing = await ingress({ auth: { mode: 'service-account', clientId: SECRETS.clientId, clientSecret: SECRETS.clientSecret } });
    ing.misbehaveToken(
      { status: 500, retryAfter: '0', body: `client_id=${SECRETS.clientId}&client_secret=${encodeURIComponent(SECRETS.clientSecret)}` },
      { status: 400, echoHeaders: true },
    );
    const p = await project({ url: ing.url, auth: 'service-account', tokenUrl: ing.tokenUrl });
    await shipAndSearch(p, 1);

    const again = await project({ url: ing.url, auth: 'service-account', tokenUrl: ing.tokenUrl });
    ing.misbehave({ status: 503, echoHeaders: true, retryAfter: '0' }, { status: 400, echoHeaders: true });
    const stderr = await shipAndSearch(again, 1);
    issued.push(...ing.issuedTokens);
    assert.ok(ing.issuedTokens.length > 0, 'a token was issued');
    for (const token of ing.issuedTokens) assert.ok(!stderr.includes(token));
  });

  it('a hanging ingress, a refused connection', async () => {
    const ing = await ingress(tlsIngress());
    ing.misbehave('hang', 'hang', 'hang', 'hang');
    await shipAndSearch(await project({ url: ing.url, auth: 'basic', timeoutMs: 300, retries: 0, proxy: proxyUrl(), caFile: certs.caFile }), 1);
    const port = await closedPort();
    await shipAndSearch(await project({ url: `http://127.0.0.1:${port}/upload`, auth: 'bearer', token: SECRETS.token, retries: 0 }), 1);
  });

  it('SIGINT while uploading with credentials', async () => {
    const ing = await ingress(tlsIngress());
    ing.misbehave('hang');
    const p = await project({ url: ing.url, auth: 'basic', proxy: proxyUrl(), caFile: certs.caFile });
    await shipAndSearch(p, 130, async () => {
      await ing.nextRequest();
    });
  });

  it('mtls: a key file that is no usable key, and a TLS failure, never show the key file contents', async () => {
    // A "key" that is not one, holding the secret line: the configuration error must not quote it.
    const p = await project({ url: 'https://127.0.0.1:9/upload', auth: 'mtls', certFile: certs.clientCertFile, keyFile: './bad-key.pem' });
    await writeFile(join(p.dir, 'bad-key.pem'), `-----BEGIN PRIVATE KEY-----\n${keyLine}\n${keyLine}\n-----END PRIVATE KEY-----\n`, { mode: 0o600 });
    const stderr = await shipAndSearch(p, 2);
    assert.match(stderr, /keyFile/);

    // A real key; the server's certificate is from a CA we do not trust: a final TLS error.
    const ing = await ingress({ tls: { key: certs.strangerKey, cert: certs.strangerCert } });
    const tls = await project({ url: ing.url, auth: 'mtls', certFile: certs.clientCertFile, keyFile: certs.clientKeyFile, caFile: certs.caFile });
    const tlsErr = await shipAndSearch(tls, 1);
    assert.match(tlsErr, /TLS|certificate/i);
  });
});
