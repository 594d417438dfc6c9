import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaveOutReason, mergeLeftOut } from '../../src/objects/leave-out.js';

describe('left out of a backup', () => {
  it('names why', () => {
    assert.match(leaveOutReason({ kind: 'ServiceAccount', metadata: { name: 'default' } })!, /default ServiceAccount/);
    assert.match(leaveOutReason({ kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' } })!, /kube-root-ca/);
    assert.match(leaveOutReason({ kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 't' } } as never)!, /token/);
    assert.equal(leaveOutReason({ kind: 'Secret', type: 'Opaque', metadata: { name: 't' } } as never), undefined);
    assert.match(leaveOutReason({ kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Succeeded' } })!, /completed Pod/);
    assert.match(leaveOutReason({ kind: 'ClusterRole', metadata: { name: 'system:basic-user' } })!, /bootstrap RBAC/);
    assert.match(leaveOutReason({ kind: 'ClusterRole', metadata: { name: 'view', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } } })!, /bootstrap RBAC/);
    assert.match(leaveOutReason({ kind: 'PriorityClass', metadata: { name: 'system-node-critical' } })!, /built-in PriorityClass/);
    assert.match(leaveOutReason({ kind: 'Endpoints', metadata: { name: 'web', labels: { 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' } } })!, /endpoints controller/);
    assert.match(leaveOutReason({ kind: 'Endpoints', metadata: { name: 'web', annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z' } } })!, /endpoints controller/);
    assert.equal(leaveOutReason({ kind: 'Endpoints', metadata: { name: 'external-db' } }), undefined, 'the Endpoints of a Service without a selector');
    assert.match(leaveOutReason({ kind: 'EndpointSlice', metadata: { name: 'web-x', labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } })!, /EndpointSlice maintained/);
    assert.match(leaveOutReason({ kind: 'EndpointSlice', metadata: { name: 'db-x', labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } } })!, /mirrored/);
    assert.equal(leaveOutReason({ kind: 'EndpointSlice', metadata: { name: 'db-manual', labels: { 'endpointslice.kubernetes.io/managed-by': 'team.example.com/manual' } } }), undefined);
    assert.match(leaveOutReason({ kind: 'RoleBinding', metadata: { name: 'kubeferry-source-secrets', labels: { 'kubeferry.io/grant': 'source-secrets' } } })!, /kubeferry's own access/);
    assert.match(leaveOutReason({ kind: 'ConfigMap', metadata: { name: 'c', deletionTimestamp: '2026-01-01T00:00:00Z' } })!, /being deleted/);
  });

  it('leaves out what a copied built-in controller owns, and keeps what a custom resource or an uncopied owner owns', () => {
    const owned = (kind: string, uid: string, child = 'Pod') => ({ kind: child, metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind, name: 'o', uid, controller: true }] } });
    const covered = new Set(['rs-1', 'w-1']);
    assert.match(leaveOutReason(owned('ReplicaSet', 'rs-1'), { covered })!, /owned by a copied ReplicaSet/);
    assert.equal(leaveOutReason(owned('ReplicaSet', 'rs-2'), { covered }), undefined);
    // A Deployment's controller makes ReplicaSets, not ConfigMaps: an operator's ConfigMap under it is copied.
    assert.equal(leaveOutReason(owned('Deployment', 'rs-1', 'ConfigMap'), { covered }), undefined);
    assert.equal(leaveOutReason(owned('Widget', 'w-1'), { covered }), undefined);
  });

  it('merges groups by reason, most objects first, keeping the first examples', () => {
    const merged = mergeLeftOut([
      { reason: 'a', count: 2, examples: ['ConfigMap x/1', 'ConfigMap x/2'] },
      { reason: 'b', count: 5, examples: ['Pod y/1'] },
      { reason: 'a', count: 4, examples: ['ConfigMap z/1', 'ConfigMap z/2', 'ConfigMap z/3', 'ConfigMap z/4'] },
    ]);
    assert.deepEqual(merged, [
      { reason: 'a', count: 6, examples: ['ConfigMap x/1', 'ConfigMap x/2', 'ConfigMap z/1', 'ConfigMap z/2', 'ConfigMap z/3'] },
      { reason: 'b', count: 5, examples: ['Pod y/1'] },
    ]);
  });

  it('orders reasons with as many objects by name', () => {
    assert.deepEqual(mergeLeftOut([{ reason: 'z', count: 1, examples: [] }, { reason: 'm', count: 1, examples: [] }]).map((g) => g.reason), ['m', 'z']);
  });
});

describe('credentials of the source cluster', () => {
  it('are never copied: bootstrap tokens, and token Secrets that name their ServiceAccount', () => {
    assert.match(leaveOutReason({ kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' } } as never)!, /bootstrap token/);
    assert.match(leaveOutReason({ kind: 'Secret', type: 'Opaque', metadata: { name: 't', annotations: { 'kubernetes.io/service-account.name': 'web' } } } as never)!, /service-account token/);
    assert.equal(leaveOutReason({ kind: 'Secret', type: 'Opaque', metadata: { name: 't', annotations: { note: 'web' } } } as never), undefined);
  });
});
