/**
 * libpq's `sslmode`, with libpq's meanings (contract §8), as the TLS settings node-postgres gets for each
 * connection attempt:
 *
 * | sslmode     | attempts                               | certificate checked          |
 * |-------------|----------------------------------------|------------------------------|
 * | disable     | plain                                  | —                            |
 * | allow       | plain, then TLS if the server refuses  | no                           |
 * | prefer      | TLS, then plain if the server has none | no (the default)             |
 * | require     | TLS                                    | no (yes, as verify-ca, when sslrootcert is given) |
 * | verify-ca   | TLS                                    | chain against sslrootcert    |
 * | verify-full | TLS                                    | chain and host name          |
 *
 * Certificate files are read once, here; a missing or unreadable file is a configuration error naming the keyword.
 */
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { messageOf, usageError } from '../errors.js';
import type { ConnInfo, SslMode } from './conninfo.js';

/** One connection attempt: `false` for plain TCP, else the TLS options. */
export type SslAttempt = false | ConnectionOptions;

export interface TlsPlan {
  mode: SslMode;
  attempts: SslAttempt[];
  /** Whether a failed attempt may be followed by the next one (libpq's fallbacks for `allow` and `prefer`). */
  fallback(error: unknown): boolean;
}

/** pg's message when the server answers `N` to the SSLRequest. */
export const NO_TLS_MESSAGE = 'The server does not support SSL connections';

export function tlsPlan(info: ConnInfo, name = 'coordination.postgres'): TlsPlan {
  // libpq ignores sslmode on Unix sockets: there is nothing to encrypt.
  if (info.host.startsWith('/') || info.sslmode === 'disable') return { mode: info.sslmode, attempts: [false], fallback: () => false };
  const files = clientFiles(info, name);
  const noVerify: ConnectionOptions = { ...files, rejectUnauthorized: false };
  const rootcert = readRootCert(info, name);
  switch (info.sslmode) {
    case 'allow':
      // Plain first; TLS only when the server turned the plain connection away (pg_hba `hostssl`).
      return { mode: 'allow', attempts: [false, noVerify], fallback: isServerRefusal };
    case 'prefer':
      return { mode: 'prefer', attempts: [noVerify, false], fallback: (err) => messageOf(err) === NO_TLS_MESSAGE };
    case 'require':
      // libpq: "if a root CA file exists, sslmode=require behaves like verify-ca".
      if (info.sslrootcert !== undefined) return { mode: 'require', attempts: [verifyCa(files, rootcert)], fallback: () => false };
      return { mode: 'require', attempts: [noVerify], fallback: () => false };
    case 'verify-ca':
      return { mode: 'verify-ca', attempts: [verifyCa(files, rootcert)], fallback: () => false };
    default:
      return { mode: 'verify-full', attempts: [{ ...files, ...(rootcert ? { ca: rootcert } : {}), rejectUnauthorized: true }], fallback: () => false };
  }
}

/** A hint for a TLS failure, in words an operator can act on; '' when the error is not about TLS. */
export function tlsHint(error: unknown, mode: SslMode): string {
  const message = messageOf(error);
  const code = String((error as { code?: string | number }).code ?? '');
  if (message === NO_TLS_MESSAGE) {
    return `the server does not offer TLS, which sslmode=${mode} requires (sslmode=prefer connects without TLS when the server offers none)`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return "the server's certificate does not name this host (sslmode=verify-full checks it; connect by the name in the certificate, or use sslmode=verify-ca)";
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) {
    return `the server's certificate is not trusted (${code}; sslmode=${mode} verifies it): give the CA that signed it with sslrootcert=/path/to/ca.pem, or use sslmode=require to encrypt without verifying`;
  }
  return '';
}

function verifyCa(files: ConnectionOptions, ca: Buffer | undefined): ConnectionOptions {
  // The chain is checked, the host name is not (libpq's verify-ca).
  return { ...files, ...(ca ? { ca } : {}), rejectUnauthorized: true, checkServerIdentity: () => undefined };
}

/** A server's own refusal (an ErrorResponse with a SQLSTATE, e.g. 28000 from pg_hba), not a network failure. */
function isServerRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * `sslrootcert`: a file of CA certificates; `system` (or nothing, when ~/.postgresql/root.crt does not exist)
 * uses Node.js' default CAs.
 */
function readRootCert(info: ConnInfo, name: string): Buffer | undefined {
  const given = info.sslrootcert;
  if (given === 'system') return undefined;
  if (given !== undefined) return readTlsFile(given, 'sslrootcert', name);
  const fallback = join(homedir(), '.postgresql', 'root.crt');
  return existsSync(fallback) ? readTlsFile(fallback, 'sslrootcert (default ~/.postgresql/root.crt)', name) : undefined;
}

/** `sslcert`/`sslkey` (default: ~/.postgresql/postgresql.crt and .key when both exist, as libpq does). */
function clientFiles(info: ConnInfo, name: string): ConnectionOptions {
  let cert = info.sslcert;
  let key = info.sslkey;
  if (cert === undefined && key === undefined) {
    const dir = join(homedir(), '.postgresql');
    if (existsSync(join(dir, 'postgresql.crt')) && existsSync(join(dir, 'postgresql.key'))) {
      cert = join(dir, 'postgresql.crt');
      key = join(dir, 'postgresql.key');
    }
  }
  if ((cert === undefined) !== (key === undefined)) throw usageError(`${name}: give sslcert and sslkey together (a client certificate needs its key)`);
  if (cert === undefined || key === undefined) return {};
  return { cert: readTlsFile(cert, 'sslcert', name), key: readTlsFile(key, 'sslkey', name) };
}

function readTlsFile(path: string, keyword: string, name: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw usageError(`${name}: cannot read ${keyword} ${path}: ${messageOf(err)}`);
  }
}
