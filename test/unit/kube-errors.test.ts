import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeApiError } from '../../src/kube/rest.js';
import { apiMessage, apiStatus, apiUnavailable, retryAfterMs, retryDelayMs, statusMessage } from '../../src/kube/errors.js';

describe('API server availability', () => {
  it('tells a server that cannot answer now from an answer about the call', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:26443'), { code: 'ECONNREFUSED' });
    assert.equal(apiUnavailable(refused), true);
    assert.equal(apiUnavailable(new Error('GET /api: no answer from https://127.0.0.1:26443 within 30 s')), true);
    assert.equal(apiUnavailable(new KubeApiError(503, '{}', 'GET', '/api')), true);
    assert.equal(apiUnavailable(new KubeApiError(429, '{}', 'GET', '/api')), true);
    assert.equal(apiUnavailable(new KubeApiError(422, '{}', 'POST', '/api/v1/namespaces/x/configmaps')), false);
    assert.equal(apiUnavailable(new KubeApiError(409, '{}', 'POST', '/api/v1/namespaces/x/configmaps')), false);
    assert.equal(apiUnavailable(Object.assign(new Error('bad cert'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })), false);
    assert.equal(apiUnavailable(new TypeError('x is undefined')), false);
  });
});

describe('API server answers', () => {
  it('are reported by the message of their Status body, or the start of a body that is not one', () => {
    assert.equal(statusMessage('{"kind":"Status","message":"configmaps \\"c\\" is forbidden"}'), 'configmaps "c" is forbidden');
    assert.equal(statusMessage('<html>bad gateway</html>'), '<html>bad gateway</html>');
    assert.equal(statusMessage('x'.repeat(400)).length, 300);
    const err = new KubeApiError(403, '{"message":"no"}', 'GET', '/api/v1/secrets');
    assert.equal(err.message, 'GET /api/v1/secrets: HTTP 403: no');
    assert.equal(apiStatus(err), 403);
    assert.equal(apiMessage(err), 'no');
    assert.equal(apiStatus(new Error('x')), undefined);
  });

  it('are kept to 500 characters, since they go into the migration errors in history (a webhook denial may quote the object)', () => {
    const long = `admission webhook denied the request: ${'field=value '.repeat(100)}`;
    const message = apiMessage(new KubeApiError(400, JSON.stringify({ kind: 'Status', message: long }), 'POST', '/api/v1/namespaces/a/configmaps'));
    assert.equal(message, `${long.slice(0, 500)}... (${long.length - 500} more characters)`);
    assert.equal(apiMessage(new Error('short')), 'short');
  });
});

describe('retrying an unavailable API server', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(Date.parse('2026-01-01T00:00:05Z')).toUTCString(), Date.parse('2026-01-01T00:00:00Z')), 5000);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(undefined), undefined);
  });

  it('waits what the server asked, plus up to a second of jitter, never more than 10 s', () => {
    const asked = new KubeApiError(429, '{}', 'GET', '/api', 2000);
    assert.equal(retryDelayMs(asked, 1, () => 0), 2000);
    assert.equal(retryDelayMs(asked, 1, () => 0.5), 2500);
    assert.equal(retryDelayMs(new KubeApiError(503, '{}', 'GET', '/api', 60_000), 1, () => 0), 10_000);
  });

  it('backs off exponentially otherwise, with equal jitter, capped at 5 s', () => {
    const refused = new Error('connect ECONNREFUSED');
    assert.equal(retryDelayMs(refused, 1, () => 0), 100);
    assert.equal(retryDelayMs(refused, 1, () => 0.999), 199.9);
    assert.equal(retryDelayMs(refused, 3, () => 0), 400);
    assert.equal(retryDelayMs(refused, 20, () => 0), 2500);
    assert.ok(retryDelayMs(refused, 20, () => 0.999) <= 5000);
  });
});
