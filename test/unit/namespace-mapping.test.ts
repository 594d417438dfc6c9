// The namespace mapping: parsing the request's "old:new" entries, and what sanitizing moves with it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapRef, parseNamespaceMapping } from '../../src/domain/namespace-mapping.js';
import { sanitize } from '../../src/objects/sanitize/index.js';

const ctx = { migrationId: 'm-1' };

describe('namespace mapping', () => {
  const namespaceMapping = { shop: 'shop-v2' };
  it('moves objects, renames Namespaces and rewrites subjects and route backends', () => {
    assert.equal(sanitize({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, { ...ctx, namespaceMapping }).metadata?.name, 'shop-v2');
    assert.equal(sanitize({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' } }, { ...ctx, namespaceMapping }).metadata?.namespace, 'shop-v2');
    const rb = sanitize({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'shop' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'shop' }, { kind: 'ServiceAccount', name: 'ci', namespace: 'tools' }],
    } as never, { ...ctx, namespaceMapping }) as unknown as { subjects: { namespace: string }[] };
    assert.deepEqual(rb.subjects.map((s) => s.namespace), ['shop-v2', 'tools']);
    const route = sanitize({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'edge' },
      spec: { rules: [{ backendRefs: [{ name: 'web', namespace: 'shop' }] }] },
    } as never, { ...ctx, namespaceMapping }) as unknown as { spec: { rules: { backendRefs: { namespace: string }[] }[] } };
    assert.equal(route.spec.rules[0]!.backendRefs[0]!.namespace, 'shop-v2');
  });
  it('parses "old:new" entries and names each bad one', () => {
    assert.deepEqual(parseNamespaceMapping(['a:b', 'c:d']), { mapping: { a: 'b', c: 'd' }, problems: [] });
    assert.deepEqual(parseNamespaceMapping(['a-b', 'x:y', 'x:z', 'q:y']).problems, [
      '0: "a-b" is not "old:new" with two namespace names',
      '2: namespace "x" is mapped twice',
      '3: "q" and "x" would both land in "y"',
    ]);
    assert.equal(mapRef({ a: 'b' }, 'a/web'), 'b/web');
  });
});
