/**
 * The HTTP uploader (contract §5): one attempt per `send()`, as `multipart/form-data` with one part named
 * `file`, streamed from disk; the answer read within `ship.timeoutMs` and 1 MiB (exchange.ts) and classified
 * (classify.ts). Retrying is left to `withRetries` — got's own retry and redirect following are off, so the rule
 * lives in exactly one place. Takes parsed settings as given (settings.ts).
 */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { escapeControlLine, redactSecrets } from '../secrets/index.js';
import type { ShipInfo, ShipResult, Shipper } from '../types.js';
import { classifyAnswer, type Classified } from './classify.js';
import { exchange } from './exchange.js';
import { connectIngress } from './connection.js';
import { describeProxy } from './proxy.js';
import type { ShipSettings } from './settings.js';

export interface HttpShipperOptions {
  logger: Logger;
  /** The clock, for token lifetimes and Retry-After dates. */
  now?: () => number;
}

/** Outside text made safe to show: secrets masked, control characters escaped, one line. */
const shown = (text: string): string => escapeControlLine(redactSecrets(text));

/** Builds the uploader from parsed settings. */
export function createHttpShipper(settings: ShipSettings, opts: HttpShipperOptions): Shipper {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  const { client: upload, auth } = connectIngress(settings, now);

  /** One request. `unauthorized` tells a 401 (worth a fresh token) from other failures. */
  async function attempt(path: string, info: ShipInfo, signal?: AbortSignal): Promise<{ result: Classified; unauthorized: boolean }> {
    const credentials = await auth.headers(signal);
    if (!credentials.ok) return { result: credentials.result, unauthorized: false };
    let file: Blob;
    try {
      // A Blob backed by the file: form-data-encoder reads it in chunks as the socket drains, never whole.
      file = await openAsBlob(path, { type: settings.contentType });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return { result: { status: 'failed', error: `cannot read ${path} (${code})` }, unauthorized: false };
    }
    const form = new FormData();
    form.append('file', file, info.fileName || basename(path));
    const answer = await exchange(upload, {
      method: 'POST',
      url: settings.url,
      headers: { ...settings.headers, ...credentials.headers },
      body: form,
      timeoutMs: settings.timeoutMs,
      signal,
    });
    const result = classifyAnswer(answer, { target: settings.target, requireRequestId: settings.requireRequestId, now: now() });
    return { result, unauthorized: answer.kind !== 'error' && answer.status === 401 };
  }

  return {
    async send(tarballPath, info, signal): Promise<ShipResult> {
      log.debug(
        { tarball: info.fileName, bytes: info.bytes, url: settings.target, proxy: settings.proxy ? describeProxy(settings.proxy) : null },
        `uploading ${info.fileName}`,
      );
      let { result, unauthorized } = await attempt(tarballPath, info, signal);
      // A 401 with a token that may have been revoked or expired early: one fresh token, one more try.
      if (unauthorized && auth.invalidate()) {
        log.debug({ tarball: info.fileName }, 'ingress answered 401; fetching a new token');
        ({ result } = await attempt(tarballPath, info, signal));
      }
      if (result.status === 'sent') {
        const { warning, ...sent } = result;
        if (warning !== undefined) log.warn({ tarball: info.fileName, requestId: sent.requestId ?? null }, `${info.fileName}: ${shown(warning)}`);
        else log.debug({ tarball: info.fileName, requestId: sent.requestId }, `uploaded ${info.fileName}`);
        return sent;
      }
      const { warning: _ignored, ...failed } = result;
      return { ...failed, error: shown(failed.error) };
    },
  };
}
