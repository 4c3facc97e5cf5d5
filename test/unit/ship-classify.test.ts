import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodySnippet, classifyAnswer, classifyRequestError, parseRetryAfter } from '../../src/ship/classify.js';
import type { Answer } from '../../src/ship/exchange.js';

const NOW = Date.parse('2026-11-28T00:00:00Z');
const complete = (status: number, body = '', headers: Record<string, string> = {}, statusMessage?: string): Answer => ({
  kind: 'complete',
  status,
  statusMessage,
  headers,
  body: Buffer.from(body),
});
const broken = (status: number, body = '', reason = 'the connection broke (ECONNRESET)'): Answer => ({
  kind: 'broken',
  status,
  statusMessage: undefined,
  headers: {},
  body: Buffer.from(body),
  reason,
});
const OK = '{"request_id":"abc","upload":{}}';
const options = { target: 'https://ingress/up', requireRequestId: true, now: NOW };
const classify = (answer: Answer, extra: Partial<typeof options> = {}) => classifyAnswer(answer, { ...options, ...extra });

describe('classifyAnswer', () => {
  const table: [number, string][] = [
    [200, 'sent'], [201, 'sent'], [202, 'sent'], [204, 'sent'],
    [301, 'failed'], [302, 'failed'], [307, 'failed'],
    [400, 'failed'], [401, 'failed'], [403, 'failed'], [404, 'failed'], [413, 'failed'], [415, 'failed'],
    [408, 'retryable'], [429, 'retryable'], [500, 'retryable'], [502, 'retryable'], [503, 'retryable'], [504, 'retryable'],
  ];
  for (const [status, expected] of table) {
    it(`${status} → ${expected}`, () => assert.equal(classify(complete(status, OK)).status, expected));
  }

  it('accepts a 2xx only with a request_id, unless requireRequestId is false', () => {
    assert.deepEqual(classify(complete(202, OK)), { status: 'sent', requestId: 'abc' });
    assert.deepEqual(classify(complete(202, '{"request_id":7}')), { status: 'sent', requestId: '7' });
    for (const body of ['<html>login</html>', '', '{}', '[{"request_id":"x"}]', '{"request_id":""}', '{"request_id":null}']) {
      const result = classify(complete(200, body));
      assert.equal(result.status, 'failed', body);
      assert.match((result as { error: string }).error, /^the ingress answered 200 but gave no request id: is ship\.url the upload endpoint\?/);
    }
    assert.deepEqual(classify(complete(200, '<html/>'), { requireRequestId: false }), { status: 'sent' });
  });

  it('accepts a 2xx that broke off, with a warning, whatever the body', () => {
    for (const answer of [broken(202, '{"requ'), broken(200, ''), broken(202, 'x'.repeat(10), 'it did not end within 3000 ms (ship.timeoutMs)')]) {
      const result = classify(answer);
      assert.equal(result.status, 'sent');
      assert.match(result.warning ?? '', /broke off: .*; not retried/);
    }
    assert.equal(classify(broken(202, OK)).status, 'sent');
    assert.equal((classify(broken(202, OK)) as { requestId?: string }).requestId, 'abc');
    // A broken non-2xx is classified by its status.
    assert.equal(classify(broken(503, 'busy')).status, 'retryable');
  });

  it('marks 401 and 403 as rejected credentials', () => {
    for (const status of [401, 403]) assert.equal((classify(complete(status)) as { authRejected?: boolean }).authRejected, true);
    assert.equal((classify(complete(400)) as { authRejected?: boolean }).authRejected, undefined);
  });

  it('puts the status, the target and the first 200 body bytes, escaped, in one line', () => {
    const result = classify(complete(503, `busy\n\u001b]52;c;eA==\u0007${'x'.repeat(500)}`, {}, 'Service Unavailable'));
    const error = (result as { error: string }).error;
    assert.match(error, /^HTTP 503 Service Unavailable from https:\/\/ingress\/up: busy \\x1b\]52;c;eA==\\x07x+…$/);
    assert.ok(!/[\u0000-\u001f]/.test(error));
    assert.ok(error.length < 400);
  });

  it('carries Retry-After and names redirects', () => {
    assert.equal((classify(complete(503, '', { 'retry-after': '120' })) as { retryAfterMs?: number }).retryAfterMs, 120_000);
    assert.match((classify(complete(302, '', { location: 'https://u:p@elsewhere/x?t=1' })) as { error: string }).error, /redirect to https:\/\/elsewhere\/x not followed/);
  });

  it('classifies an exchange without an answer by its error', () => {
    assert.equal(classify({ kind: 'error', error: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), timedOut: false }).status, 'retryable');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter(' 30 ', NOW), 30_000);
    assert.equal(parseRetryAfter('Sat, 28 Nov 2026 00:02:00 GMT', NOW), 120_000);
    assert.equal(parseRetryAfter('Fri, 27 Nov 2026 00:00:00 GMT', NOW), 0);
    assert.equal(parseRetryAfter('soon', NOW), undefined);
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter('-5', NOW), undefined);
  });
});

describe('classifyRequestError', () => {
  const err = (code: string, name = 'RequestError') => Object.assign(new Error(`boom ${code}`), { code, name });
  const table: [unknown, string][] = [
    [err('ECONNREFUSED'), 'retryable'],
    [err('ECONNRESET'), 'retryable'],
    [err('EPIPE'), 'retryable'],
    [err('EAI_AGAIN'), 'retryable'],
    [err('ETIMEDOUT', 'TimeoutError'), 'retryable'],
    [err('ENOTFOUND'), 'failed'],
    [err('SELF_SIGNED_CERT_IN_CHAIN'), 'failed'],
    [err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'failed'],
    [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'failed'],
    [err('CERT_HAS_EXPIRED'), 'failed'],
    [err('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'failed'],
    [new Error('Bad response: 502'), 'retryable'],
    [new Error('Bad response: 407'), 'failed'],
    [Object.assign(new Error('wrapped'), { code: 'ERR_GOT_REQUEST_ERROR', cause: err('ECONNRESET') }), 'retryable'],
    [new Error('something odd'), 'failed'],
  ];
  for (const [error, expected] of table) {
    it(`${(error as Error).message} → ${expected}`, () => assert.equal(classifyRequestError(error, 'upload').status, expected));
  }
});

describe('bodySnippet', () => {
  it('keeps at most 200 bytes on one line', () => {
    assert.equal(bodySnippet('a\r\n  b'), 'a b');
    assert.equal(bodySnippet('é'.repeat(150)).replace('…', '').length, 100);
  });
});
