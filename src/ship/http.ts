/**
 * The HTTP uploader (contract §5): one attempt per `send()`, as `multipart/form-data` with one part named
 * `file`, streamed from disk. It classifies the outcome and leaves retrying to `withRetries` — got's own retry
 * and redirect following are off, so the rule lives in exactly one place.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { rootCertificates } from 'node:tls';
import got, { type Got } from 'got';
import type { Logger } from 'pino';
import type { ShipConfig } from '../config/types.js';
import { AppError, usageError } from '../errors.js';
import type { ShipInfo, ShipResult, Shipper } from '../types.js';
import { createAuth } from './auth.js';
import { classifyRequestError, classifyResponse } from './classify.js';
import { shippingProblem, validateShipConfig } from './configured.js';
import { createAgents, describeProxy, proxyFor } from './proxy.js';
import { escapeControlLine, redactSecrets } from '../secrets/index.js';
import { displayUrl } from './url.js';

export interface HttpShipperOptions {
  /** The package version, for the default `User-Agent: analytics-collect/<version>`. */
  version: string;
  logger: Logger;
  /** Where proxy variables are read from; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /** Headers from the packager's `headers()`: merged under `ship.headers`. */
  extraHeaders?: Record<string, string>;
  /** The clock, for token lifetimes and Retry-After dates. */
  now?: () => number;
}

/** Header objects merged left to right, names lower-cased so `User-Agent` and `user-agent` are one header. */
function mergeHeaders(...sources: (Record<string, string> | undefined)[]): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const source of sources) {
    for (const [name, value] of Object.entries(source ?? {})) merged[name.toLowerCase()] = value;
  }
  return merged;
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`ship.${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a readable PEM file`, err);
  }
}

/**
 * Builds the uploader. Throws AppError('USAGE') for an unsafe or unusable configuration (see
 * `validateShipConfig`), AppError('NOT_CONFIGURED') without `url` or `contentType` (callers normally check
 * `shippingProblem` first, before any collector runs).
 */
export function createHttpShipper(config: ShipConfig, opts: HttpShipperOptions): Shipper {
  const problems = validateShipConfig(config);
  if (problems.length > 0) throw usageError(problems.join('; '));
  const notConfigured = config.url && config.contentType ? null : shippingProblem(config);
  if (notConfigured) throw new AppError('NOT_CONFIGURED', notConfigured);
  const url = config.url!;
  const contentType = config.contentType!;
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  const log = opts.logger;

  // caFile adds to the default CAs: Node's `ca` option replaces them, so pass both.
  const ca = config.caFile ? [...rootCertificates, readPem(config.caFile, 'caFile')] : undefined;
  const clientCert =
    config.auth === 'mtls' && config.certFile && config.keyFile
      ? { certificate: readPem(config.certFile, 'certFile'), key: readPem(config.keyFile, 'keyFile') }
      : {};
  const headers = mergeHeaders({ 'user-agent': `analytics-collect/${opts.version}` }, opts.extraHeaders, config.headers);
  // ship.headers cannot hold Authorization (validateShipConfig); a packager's one is used only when ship.auth
  // is "none", so a configured auth mode is never silently overridden.
  if (config.auth !== 'none') delete headers.authorization;

  const clientFor = (target: string): { client: Got; proxy: string | null } => {
    const proxy = proxyFor(target, config.proxy, env);
    const t = config.timeoutMs;
    const client = got.extend({
      agent: createAgents(proxy, ca),
      https: { rejectUnauthorized: true, ...(ca ? { certificateAuthority: ca } : {}), ...clientCert },
      // Each wait is bounded, not the whole upload: a 100 MiB tarball on a slow link may take longer than
      // timeoutMs to send, but a peer silent for timeoutMs is gone (as with requests' (connect, read) timeout).
      timeout: { lookup: t, connect: t, secureConnect: t, socket: t, response: t },
      retry: { limit: 0 },
      followRedirect: false,
      throwHttpErrors: false,
      headers: { 'user-agent': headers['user-agent'] },
    });
    return { client, proxy };
  };
  const upload = clientFor(url);
  const auth = createAuth(config, config.tokenUrl ? clientFor(config.tokenUrl).client : upload.client, now);
  const redact = (text: string): string => escapeControlLine(redactSecrets(text));
  const target = displayUrl(url);

  /** One request. `unauthorized` tells a 401 (worth a fresh token) from other failures. */
  async function attempt(path: string, info: ShipInfo, signal?: AbortSignal): Promise<{ result: ShipResult; unauthorized: boolean }> {
    const fileName = info.fileName || basename(path);
    const what = `upload of ${fileName} to ${target}`;
    const credentials = await auth.headers(signal);
    if (!credentials.ok) return { result: credentials.result, unauthorized: false };
    let file: Blob;
    try {
      // A Blob backed by the file: form-data-encoder reads it in chunks as the socket drains, never whole.
      file = await openAsBlob(path, { type: contentType });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return { result: { status: 'failed', error: `cannot read tarball ${path} (${code})` }, unauthorized: false };
    }
    const form = new FormData();
    form.append('file', file, fileName);
    try {
      const response = await upload.client.post(url, {
        body: form,
        headers: { ...headers, ...credentials.headers },
        responseType: 'text',
        ...(signal ? { signal } : {}),
      });
      return {
        result: classifyResponse(response, what, now()),
        unauthorized: response.statusCode === 401,
      };
    } catch (err) {
      return { result: classifyRequestError(err, what), unauthorized: false };
    }
  }

  return {
    async send(tarballPath, info, signal) {
      log.debug(
        { tarball: info.fileName, bytes: info.bytes, url: target, proxy: upload.proxy ? describeProxy(upload.proxy) : null },
        `uploading ${info.fileName}`,
      );
      let { result, unauthorized } = await attempt(tarballPath, info, signal);
      // A 401 with a token that may have been revoked or expired early: one fresh token, one more try.
      if (unauthorized && auth.invalidate()) {
        log.debug({ tarball: info.fileName }, 'ingress answered 401; fetching a new token');
        ({ result } = await attempt(tarballPath, info, signal));
      }
      if (result.status === 'sent') {
        log.debug({ tarball: info.fileName, requestId: result.requestId }, `uploaded ${info.fileName}`);
        return result;
      }
      return { ...result, error: redact(result.error) };
    },
  };
}
