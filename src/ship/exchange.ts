/**
 * One HTTP request and its answer, bounded (contract §5): the whole exchange — connecting, sending, the answer's
 * last byte — within `timeoutMs`, and no answer read into memory past 1 MiB. What comes back says how the answer
 * ended, so the caller can tell an ingress that accepted an upload and then broke off from one that failed.
 */
import type { Got } from 'got';

/** The most of an answer's body ever held in memory. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export interface AnswerHead {
  status: number;
  statusMessage: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** How an exchange ended. */
export type Answer =
  /** The whole answer arrived. */
  | (AnswerHead & { kind: 'complete'; body: Buffer })
  /** The status and headers arrived, the body broke off: reset, timed out, or longer than MAX_ANSWER_BYTES. */
  | (AnswerHead & { kind: 'broken'; body: Buffer; reason: string })
  /** No answer: the request failed before a status arrived (connection, TLS, DNS, timeout). */
  | { kind: 'error'; error: unknown; timedOut: boolean };

export interface ExchangeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: FormData | string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** The error a timed-out exchange reports: named like got's own, so the classification is one rule. */
export class ExchangeTimeout extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no complete answer within ${ms} ms (ship.timeoutMs)`);
  }
}

/** Sends `request` with `client` (retries and redirects off) and reads the answer within the bounds. */
export function exchange(client: Got, request: ExchangeRequest): Promise<Answer> {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new ExchangeTimeout(request.timeoutMs)), request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timer.signal]) : timer.signal;
  const stream = client.stream(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
    signal,
    throwHttpErrors: false,
  });
  return new Promise<Answer>((resolve) => {
    let head: AnswerHead | null = null;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (answer: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      stream.destroy();
      resolve(answer);
    };
    const body = (): Buffer => Buffer.concat(chunks);
    stream.on('response', (response: { statusCode: number; statusMessage?: string; headers: AnswerHead['headers'] }) => {
      head = { status: response.statusCode, statusMessage: response.statusMessage, headers: response.headers };
    });
    stream.on('data', (chunk: Buffer) => {
      const room = MAX_ANSWER_BYTES - size;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        size = MAX_ANSWER_BYTES;
        if (head) settle({ ...head, kind: 'broken', body: body(), reason: `the answer is longer than ${MAX_ANSWER_BYTES} bytes` });
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', () => {
      if (head) settle({ ...head, kind: 'complete', body: body() });
      else settle({ kind: 'error', error: new Error('the connection ended without an answer'), timedOut: false });
    });
    stream.on('error', (err: unknown) => {
      const timedOut = timer.signal.aborted && !request.signal?.aborted;
      const error: unknown = timedOut ? (timer.signal.reason as unknown) : err;
      if (head) {
        const why = timedOut ? `it did not end within ${request.timeoutMs} ms (ship.timeoutMs)` : `the connection broke (${describe(err)})`;
        settle({ ...head, kind: 'broken', body: body(), reason: why });
      } else {
        settle({ kind: 'error', error, timedOut });
      }
    });
  });
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && !e.code.startsWith('ERR_GOT_')) return e.code;
  return typeof e.message === 'string' ? e.message : String(err);
}
