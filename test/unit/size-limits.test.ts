import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DATA_BYTES, MAX_REQUEST_BYTES, sizeProblem } from '../../src/objects/size-limits.js';

const MIB = 1024 * 1024;

describe('objects too large for the API server', () => {
  it('a body above 3 MiB is refused, whatever its kind', () => {
    const big = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { blob: 'x'.repeat(MAX_REQUEST_BYTES) } };
    assert.match(sizeProblem(big)!, /^3\.0 MiB of JSON; the API server takes at most 3\.0 MiB per request$/);
  });

  it('a ConfigMap with more than 1 MiB of data is refused, binaryData counted decoded', () => {
    assert.match(sizeProblem({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'x'.repeat(MAX_DATA_BYTES) } })!, /of data; a ConfigMap holds at most 1\.0 MiB/);
    const binary = Buffer.alloc(MIB - 100).toString('base64'); // about 1.33 MiB of base64, under 1 MiB decoded
    assert.equal(sizeProblem({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData: { k: binary } }), undefined);
  });

  it('a Secret\'s data is counted decoded, its stringData as text', () => {
    const encoded = Buffer.alloc(MIB - 100).toString('base64');
    assert.equal(sizeProblem({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: encoded } }), undefined);
    assert.match(sizeProblem({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: encoded }, stringData: { more: 'x'.repeat(200) } })!, /a Secret holds at most/);
  });

  it('the data limit is only that of core ConfigMaps and Secrets', () => {
    assert.equal(sizeProblem({ apiVersion: 'example.com/v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'x'.repeat(MAX_DATA_BYTES + 10) } }), undefined);
  });
});
