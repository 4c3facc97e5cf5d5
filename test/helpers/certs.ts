/**
 * Test certificates: a CA, a server certificate for 127.0.0.1/localhost/::1 and a client certificate, both
 * signed by that CA, plus an unrelated CA that signs nothing we trust. Generated with `selfsigned` (pure
 * JavaScript, EC P-256 keys so it takes milliseconds) and written as PEM files into a temporary directory.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCerts {
  dir: string;
  caCert: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A server certificate signed by a CA nobody trusts (for "unknown CA" tests). */
  strangerCert: string;
  strangerKey: string;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

const DAY = 24 * 3600 * 1000;
const validity = () => ({ notBeforeDate: new Date(Date.now() - DAY), notAfterDate: new Date(Date.now() + 30 * DAY) });
const EC = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as const;

async function makeCa(name: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    ...EC,
    ...validity(),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function makeLeaf(
  ca: { cert: string; key: string },
  name: string,
  usage: 'server' | 'client',
): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    ...EC,
    ...validity(),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
      ...(usage === 'server'
        ? [
            {
              name: 'subjectAltName' as const,
              altNames: [
                { type: 2 as const, value: 'localhost' },
                { type: 7 as const, ip: '127.0.0.1' },
                { type: 7 as const, ip: '::1' },
              ],
            },
          ]
        : []),
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Generates a fresh set of certificates into a new temporary directory. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'ac-certs-'));
  const ca = await makeCa('analytics-collect test CA');
  const server = await makeLeaf(ca, 'localhost', 'server');
  const client = await makeLeaf(ca, 'analytics-collect test client', 'client');
  const stranger = await makeLeaf(await makeCa('untrusted CA'), 'localhost', 'server');
  const files = {
    caFile: join(dir, 'ca.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
  };
  await writeFile(files.caFile, ca.cert, { mode: 0o600 });
  await writeFile(files.clientCertFile, client.cert, { mode: 0o600 });
  await writeFile(files.clientKeyFile, client.key, { mode: 0o600 });
  return {
    dir,
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    strangerCert: stranger.cert,
    strangerKey: stranger.key,
    ...files,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
