import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaveOutReason, servicesOfWorkloads, type ServiceSelector } from '../../src/activities/backup.js';
import { MIGRATION_ID_LABEL } from '../../src/activities/labels.js';
import { sanitize } from '../../src/activities/sanitize/index.js';
import { mapRef, parseNamespaceMapping } from '../../src/domain/namespace-mapping.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';

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
    assert.match(leaveOutReason({ kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 't' } })!, /token/);
    assert.equal(leaveOutReason({ kind: 'Secret', type: 'Opaque', metadata: { name: 't' } }), undefined);
  });
});

describe('HAProxy router', () => {
  it('refuses names that could inject a command on the admin socket', () => {
    assert.throws(() => new HaproxyRouter({ socket: '/x' }, { backend: 'web\nshutdown sessions', sourceServer: 's', targetServer: 't' }), /invalid HAProxy name/);
  });
});

describe('services of a workload', () => {
  it('are the Services of its namespace whose selector matches its pod labels', () => {
    const labels = new Map<string, Record<string, string>>([['shop/web', { app: 'web', tier: 'front' }], ['shop/api', { app: 'api' }]]);
    const services: ServiceSelector[] = [
      { ref: 'shop/web', namespace: 'shop', selector: { app: 'web' } },
      { ref: 'shop/front', namespace: 'shop', selector: { tier: 'front' } },
      { ref: 'shop/other', namespace: 'shop', selector: { app: 'web', tier: 'back' } },
      { ref: 'billing/web', namespace: 'billing', selector: { app: 'web' } },
    ];
    assert.deepEqual(servicesOfWorkloads(['shop/web', 'shop/api'], labels, services), {
      'shop/web': ['shop/web', 'shop/front'],
      'shop/api': [],
    });
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
