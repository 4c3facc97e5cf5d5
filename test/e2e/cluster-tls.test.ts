/**
 * §8: libpq's sslmode, through the real CLI (`state --json`, which reads the state table), against a
 * TLS-terminating proxy in front of the local PostgreSQL with a self-signed certificate — and against the same
 * proxy without TLS. The proxy counts TLS and plain connections, so "encrypted" is checked, not assumed.
 * stderr never carries a raw library warning (pg's "SECURITY WARNING").
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generate } from 'selfsigned';
import { cleanEnv, cli, makeProject, requireBuild, type Project } from '../helpers/fault-cli.js';
import { pgSkipReason, uniqueName } from '../helpers/pg.js';
import { startPgProxy, type PgProxy } from '../helpers/pg-proxy.js';

const skip = await pgSkipReason();
const DAY = 86_400_000;

/** A self-signed certificate (its own CA) naming `names`. */
async function selfSigned(names: { dns?: string; ip?: string }[]): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'pg-test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - DAY),
    notAfterDate: new Date(Date.now() + 30 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'subjectAltName', altNames: names.map((n) => (n.ip ? { type: 7 as const, ip: n.ip } : { type: 2 as const, value: n.dns! })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

describe('sslmode with libpq meanings (real CLI)', { skip, timeout: 120_000 }, () => {
  let project: Project;
  let withTls: PgProxy;
  let tlsOnly: PgProxy;
  let withoutTls: PgProxy;
  let wrongName: PgProxy;
  let caFile: string;
  let wrongCaFile: string;
  const table = uniqueName('tls_state');

  before(async () => {
    requireBuild();
    project = await makeProject();
    const good = await selfSigned([{ ip: '127.0.0.1' }, { dns: 'localhost' }]);
    const other = await selfSigned([{ dns: 'db.internal' }]);
    caFile = join(project.dir, 'server.pem');
    wrongCaFile = join(project.dir, 'other.pem');
    await writeFile(caFile, good.cert);
    await writeFile(wrongCaFile, other.cert);
    withTls = await startPgProxy({ tls: 'offer', ...good });
    tlsOnly = await startPgProxy({ tls: 'require', ...good });
    withoutTls = await startPgProxy({ tls: 'none' });
    wrongName = await startPgProxy({ tls: 'offer', ...other });
  });

  after(async () => {
    await Promise.all([withTls?.close(), tlsOnly?.close(), withoutTls?.close(), wrongName?.close()]);
    await project?.cleanup();
  });

  /** Runs `state --json` against `url`; returns exit code, stderr, and how the proxy saw the connections. */
  async function stateVia(proxy: PgProxy, url: string): Promise<{ code: number; stderr: string; tls: number; plain: number }> {
    const [tls0, plain0] = [proxy.tlsConnections, proxy.plainConnections];
    await project.configure({ coordination: { postgres: url, table } });
    const run = await cli(['state', '--json'], { cwd: project.dir, env: cleanEnv() });
    assert.doesNotMatch(run.stderr, /SECURITY WARNING|Warning:|DeprecationWarning/);
    return { code: run.code, stderr: run.stderr, tls: proxy.tlsConnections - tls0, plain: proxy.plainConnections - plain0 };
  }

  const ok = (r: { code: number; stderr: string }): void => assert.equal(r.code, 0, r.stderr);

  test('a server with TLS: prefer (the default) and require encrypt without verifying; disable and allow stay plain', async () => {
    for (const [mode, encrypted] of [['', true], ['sslmode=prefer', true], ['sslmode=require', true], ['sslmode=disable', false], ['sslmode=allow', false]] as const) {
      const r = await stateVia(withTls, withTls.url(mode));
      ok(r);
      assert.deepEqual([r.tls > 0, r.plain > 0], [encrypted, !encrypted], `sslmode ${mode || '(default)'}`);
    }
  });

  test('the key=value form means the same', async () => {
    const r = await stateVia(withTls, `host=127.0.0.1 port=${withTls.port} dbname=test user=root sslmode=require`);
    ok(r);
    assert.ok(r.tls > 0 && r.plain === 0);
  });

  test('verify-ca and verify-full check the certificate against sslrootcert', async () => {
    ok(await stateVia(withTls, withTls.url(`sslmode=verify-ca&sslrootcert=${encodeURIComponent(caFile)}`)));
    ok(await stateVia(withTls, withTls.url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`)));
    // require with a root certificate given verifies it, as libpq does.
    const mismatch = await stateVia(withTls, withTls.url(`sslmode=require&sslrootcert=${encodeURIComponent(wrongCaFile)}`));
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /certificate is not trusted .*sslrootcert/);
  });

  test('an unverifiable certificate fails verify-ca/verify-full with a hint; a name mismatch fails verify-full only', async () => {
    const untrusted = await stateVia(withTls, withTls.url('sslmode=verify-ca'));
    assert.equal(untrusted.code, 2);
    assert.match(untrusted.stderr, /certificate is not trusted .*give the CA that signed it with sslrootcert/);
    ok(await stateVia(wrongName, wrongName.url(`sslmode=verify-ca&sslrootcert=${encodeURIComponent(wrongCaFile)}`)));
    const name = await stateVia(wrongName, wrongName.url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(wrongCaFile)}`));
    assert.equal(name.code, 2);
    assert.match(name.stderr, /does not name this host/);
  });

  test('a server without TLS: prefer and allow connect plain; require and the verify modes fail saying why', async () => {
    for (const mode of ['', 'sslmode=prefer', 'sslmode=allow', 'sslmode=disable']) {
      const r = await stateVia(withoutTls, withoutTls.url(mode));
      ok(r);
      assert.ok(r.plain > 0 && r.tls === 0);
    }
    for (const mode of ['require', 'verify-ca', 'verify-full']) {
      const r = await stateVia(withoutTls, withoutTls.url(`sslmode=${mode}`));
      assert.equal(r.code, 2, mode);
      assert.match(r.stderr, new RegExp(`does not offer TLS, which sslmode=${mode} requires`));
    }
  });

  test('a server that refuses plain connections: allow retries with TLS; disable fails', async () => {
    const allow = await stateVia(tlsOnly, tlsOnly.url('sslmode=allow'));
    ok(allow);
    assert.ok(allow.tls > 0);
    const disable = await stateVia(tlsOnly, tlsOnly.url('sslmode=disable'));
    assert.equal(disable.code, 2);
    assert.match(disable.stderr, /no pg_hba\.conf entry/);
  });
});
