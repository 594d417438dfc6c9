import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkSelectors, servicesOfWorkloads } from '../../src/activities/backup.js';
import { apiUnavailable } from '../../src/activities/clusters.js';
import type { TypeResult } from '../../src/activities/collect.js';
import { KubeApiError } from '../../src/activities/kube-rest.js';
import { leaveOutReason } from '../../src/activities/leave-out.js';
import { MIGRATION_ID_LABEL } from '../../src/activities/labels.js';
import { sanitize } from '../../src/activities/sanitize/index.js';
import { mapRef, parseNamespaceMapping } from '../../src/domain/namespace-mapping.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import { RouterError, RouterUnavailable } from '../../src/routers/router.js';

const ctx = { migrationId: 'm-1' };

describe('sanitizing', () => {
  it('strips server-set metadata and status, keeps what the user wrote, labels with the migration id', () => {
    const out = sanitize({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: {
        name: 'c', namespace: 'n', uid: 'u', resourceVersion: '9', generation: 2, creationTimestamp: new Date(),
        managedFields: [{ manager: 'kubectl' }], selfLink: '/x', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'p' }],
        labels: { app: 'a' }, annotations: { note: 'kept' },
      },
      status: { phase: 'x' },
      data: { k: 'v' },
    } as never, ctx) as unknown as Record<string, unknown>;
    assert.deepEqual(out.metadata, { name: 'c', namespace: 'n', labels: { app: 'a', [MIGRATION_ID_LABEL]: 'm-1' }, annotations: { note: 'kept' } });
    assert.equal(out.status, undefined);
    assert.deepEqual(out.data, { k: 'v' });
  });

  it('lets the target allocate Service cluster IPs and node ports, but keeps headless Services headless', () => {
    const svc = (clusterIP: string) => sanitize({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 's' },
      spec: { clusterIP, clusterIPs: [clusterIP], type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] },
    } as never, ctx) as unknown as { spec: Record<string, unknown> };
    assert.deepEqual(svc('10.0.0.7').spec, { type: 'NodePort', ports: [{ port: 80 }] });
    assert.equal(svc('None').spec.clusterIP, 'None');
  });

  it('drops the Deployment revision annotation', () => {
    const d = sanitize({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', annotations: { 'deployment.kubernetes.io/revision': '7', keep: 'y' } } }, ctx);
    assert.deepEqual(d.metadata?.annotations, { keep: 'y' });
  });

  it('does not change the object it was given', () => {
    const original = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u' } };
    sanitize(original, ctx);
    assert.equal(original.metadata.uid, 'u');
  });
});

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
});

describe('HAProxy router', () => {
  it('refuses names that could inject a command on the admin socket', () => {
    assert.throws(() => new HaproxyRouter({ socket: '/x' }, { backend: 'web\nshutdown sessions', sourceServer: 's', targetServer: 't' }), /invalid HAProxy name/);
  });

  it('an admin socket that refuses is a retryable RouterUnavailable, not a misconfigured route', async () => {
    const router = new HaproxyRouter({ socket: '/nonexistent/kubeferry-admin.sock' }, { backend: 'web', sourceServer: 's', targetServer: 't' });
    await assert.rejects(router.setWeight(50), (err: Error) => err instanceof RouterUnavailable && !(err instanceof RouterError) && /ENOENT/.test(err.message));
  });
});

describe('services of a workload', () => {
  const results: Pick<TypeResult<unknown>, 'nodes' | 'podLabels' | 'selectors'>[] = [{
    nodes: [
      { id: 'Deployment/shop/web', kind: 'Deployment', refs: [] },
      { id: 'PodDisruptionBudget/shop/web', kind: 'PodDisruptionBudget', refs: ['Namespace//shop'] },
    ],
    podLabels: [['Deployment/shop/web', { app: 'web', tier: 'front' }], ['Deployment/shop/api', { app: 'api' }]],
    selectors: [
      { id: 'Service/shop/web', kind: 'Service', namespace: 'shop', selector: { app: 'web' } },
      { id: 'Service/shop/front', kind: 'Service', namespace: 'shop', selector: { tier: 'front' } },
      { id: 'Service/shop/other', kind: 'Service', namespace: 'shop', selector: { app: 'web', tier: 'back' } },
      { id: 'Service/billing/web', kind: 'Service', namespace: 'billing', selector: { app: 'web' } },
      { id: 'PodDisruptionBudget/shop/web', kind: 'PodDisruptionBudget', namespace: 'shop', selector: { app: 'web' } },
    ],
  }];

  it('are the Services of its namespace whose selector matches its pod labels', () => {
    assert.deepEqual(servicesOfWorkloads(results), {
      'Deployment/shop/web': ['Service/shop/web', 'Service/shop/front'],
      'Deployment/shop/api': [],
    });
  });

  it('make a PodDisruptionBudget wait for the workloads it selects', () => {
    const pdb = linkSelectors(results).find((n) => n.id === 'PodDisruptionBudget/shop/web')!;
    assert.deepEqual(pdb.refs, ['Namespace//shop', 'Deployment/shop/web']);
  });
});

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
