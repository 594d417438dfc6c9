import assert from 'node:assert/strict';
import { describe as suite, it } from 'node:test';
import { describe, describeRef } from '../../src/objects/describe.js';

suite('objects named for people', () => {
  it('read "Kind namespace/name", or "Kind name" when cluster-scoped', () => {
    assert.equal(describe({ kind: 'ConfigMap', metadata: { namespace: 'shop', name: 'web' } }), 'ConfigMap shop/web');
    assert.equal(describe({ kind: 'ClusterRole', metadata: { name: 'reader' } }), 'ClusterRole reader');
    assert.equal(describeRef('Secret', 'shop', 'tls'), 'Secret shop/tls');
    assert.equal(describeRef('Namespace', undefined, 'shop'), 'Namespace shop');
  });
});
