import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodySnippet, classifyRequestError, classifyResponse, parseRetryAfter } from '../../src/ship/classify.js';

const NOW = Date.parse('2026-11-28T00:00:00Z');
const response = (statusCode: number, body = '', headers: Record<string, string> = {}) => ({ statusCode, headers, body });

describe('classifyResponse', () => {
  const table: [number, string][] = [
    [200, 'sent'], [201, 'sent'], [202, 'sent'], [204, 'sent'],
    [301, 'failed'], [302, 'failed'], [307, 'failed'],
    [400, 'failed'], [401, 'failed'], [403, 'failed'], [404, 'failed'], [413, 'failed'], [415, 'failed'],
    [408, 'retryable'], [429, 'retryable'], [500, 'retryable'], [502, 'retryable'], [503, 'retryable'], [504, 'retryable'],
  ];
  for (const [status, expected] of table) {
    it(`${status} → ${expected}`, () => assert.equal(classifyResponse(response(status), 'upload', NOW).status, expected));
  }

  it('reports the request_id of a 202', () => {
    assert.deepEqual(classifyResponse(response(202, '{"request_id":"abc","upload":{}}'), 'upload', NOW), { status: 'sent', requestId: 'abc' });
    assert.deepEqual(classifyResponse(response(202, 'not json'), 'upload', NOW), { status: 'sent' });
  });

  it('marks 401 and 403 as rejected credentials', () => {
    for (const status of [401, 403]) {
      assert.equal((classifyResponse(response(status), 'upload', NOW) as { authRejected?: boolean }).authRejected, true);
    }
    assert.equal((classifyResponse(response(400), 'upload', NOW) as { authRejected?: boolean }).authRejected, undefined);
  });

  it('puts the status and the first body bytes in the message', () => {
    const result = classifyResponse({ ...response(503, `busy\n${'x'.repeat(500)}`), statusMessage: 'Service Unavailable' }, 'upload of a', NOW);
    const error = (result as { error: string }).error;
    assert.match(error, /^upload of a failed: HTTP 503 Service Unavailable: busy x+…$/);
    assert.ok(error.length < 300);
  });

  it('carries Retry-After and names redirects', () => {
    assert.equal((classifyResponse(response(503, '', { 'retry-after': '120' }), 'u', NOW) as { retryAfterMs?: number }).retryAfterMs, 120_000);
    assert.match((classifyResponse(response(302, '', { location: 'https://elsewhere/x' }), 'u', NOW) as { error: string }).error, /redirect to https:\/\/elsewhere\/x not followed/);
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
