import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planObjectWaves, type PlanNode } from '../../src/domain/dependency-graph.js';
import { objectId, referencesOf, type ObjectLike } from '../../src/domain/references.js';

const node = (o: ObjectLike, pluralOf?: (gk: string) => string | undefined): PlanNode => ({
  id: objectId(o.kind!, o.metadata?.namespace, o.metadata!.name!),
  kind: o.kind!,
  refs: referencesOf(o, pluralOf),
});

const deployment: ObjectLike = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' },
  spec: { template: { spec: {
    serviceAccountName: 'web', priorityClassName: 'high', imagePullSecrets: [{ name: 'registry' }],
    volumes: [
      { name: 'a', configMap: { name: 'files' } }, { name: 'b', secret: { secretName: 'tls' } },
      { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'd', projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-secret' } }] } },
    ],
    initContainers: [{ name: 'i', envFrom: [{ secretRef: { name: 'init-env' } }] }],
    containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'env' } }], env: [
      { name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'p' } } },
      { name: 'Q', valueFrom: { configMapKeyRef: { name: 'settings', key: 'q' } } },
    ] }],
  } } },
};

describe('references read from objects', () => {
  it('finds everything a pod template needs', () => {
    assert.deepEqual(referencesOf(deployment).sort(), [
      'ConfigMap/shop/env', 'ConfigMap/shop/files', 'ConfigMap/shop/proj-cm', 'ConfigMap/shop/settings',
      'Namespace//shop', 'PersistentVolumeClaim/shop/data', 'PriorityClass//high',
      'Secret/shop/creds', 'Secret/shop/init-env', 'Secret/shop/proj-secret', 'Secret/shop/registry', 'Secret/shop/tls',
      'ServiceAccount/shop/web',
    ]);
  });
  it('follows bindings, autoscalers, ingresses, routes and custom resources', () => {
    assert.deepEqual(referencesOf({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'shop' },
      roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'ci', namespace: 'tools' }, { kind: 'User', name: 'ann' }],
    }).sort(), ['ClusterRole//view', 'Namespace//shop', 'ServiceAccount/tools/ci']);
    assert.deepEqual(referencesOf({
      kind: 'HorizontalPodAutoscaler', metadata: { name: 'h', namespace: 'shop' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } },
    }).sort(), ['Deployment/shop/web', 'Namespace//shop']);
    assert.deepEqual(referencesOf({
      kind: 'Ingress', metadata: { name: 'i', namespace: 'shop' },
      spec: { rules: [{ http: { paths: [{ backend: { service: { name: 'web' } } }] } }] },
    }).sort(), ['Namespace//shop', 'Service/shop/web']);
    assert.deepEqual(referencesOf({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ name: 'web', port: 80 }, { name: 'api', namespace: 'billing', port: 80 }] }] },
    }, (gk) => (gk === 'gateway.networking.k8s.io/HTTPRoute' ? 'httproutes' : undefined)).sort(),
    ['CustomResourceDefinition//httproutes.gateway.networking.k8s.io', 'Namespace//shop', 'Service/billing/api', 'Service/shop/web']);
  });
});

describe('restore plan from references', () => {
  it('puts every object after what it references, within the built-in kind order', () => {
    const plan = planObjectWaves([
      node({ kind: 'Namespace', metadata: { name: 'shop' } }),
      node(deployment),
      node({ kind: 'ConfigMap', metadata: { name: 'env', namespace: 'shop' } }),
      node({ kind: 'ServiceAccount', metadata: { name: 'web', namespace: 'shop' } }),
      node({ kind: 'Service', metadata: { name: 'web', namespace: 'shop' } }),
      node({ kind: 'Pod', metadata: { name: 'debug', namespace: 'shop' }, spec: { serviceAccountName: 'web' } }),
    ]);
    assert.deepEqual(plan.waves, [
      ['Namespace//shop'], ['ServiceAccount/shop/web'], ['ConfigMap/shop/env'], ['Deployment/shop/web', 'Pod/shop/debug'], ['Service/shop/web'],
    ]);
    assert.ok(plan.outside.some((e) => e.from === 'Deployment/shop/web' && e.to === 'Secret/shop/creds'));
    assert.deepEqual(plan.brokenCycles, []);
  });

  it('lets a reference move an object later than its kind alone would', () => {
    // Widgets have no place in the built-in order; this one is read by a Gadget of the same rank.
    const plan = planObjectWaves([
      { id: 'Gadget/ns/g', kind: 'Gadget', refs: ['Widget/ns/w'] },
      { id: 'Widget/ns/w', kind: 'Widget', refs: [] },
    ]);
    assert.deepEqual(plan.waves, [['Widget/ns/w'], ['Gadget/ns/g']]);
  });

  it('breaks a reference cycle deterministically and reports it', () => {
    const nodes: PlanNode[] = [
      { id: 'Widget/ns/a', kind: 'Widget', refs: ['Widget/ns/b'] },
      { id: 'Widget/ns/b', kind: 'Widget', refs: ['Widget/ns/c'] },
      { id: 'Widget/ns/c', kind: 'Widget', refs: ['Widget/ns/a'] },
    ];
    const plan = planObjectWaves(nodes);
    // The walk starts at a, follows a -> b -> c, and drops the reference that closes the loop.
    assert.deepEqual(plan.brokenCycles, [{ from: 'Widget/ns/c', to: 'Widget/ns/a' }]);
    assert.deepEqual(plan.waves, [['Widget/ns/c'], ['Widget/ns/b'], ['Widget/ns/a']]);
    // Same input in another order gives the same plan.
    assert.deepEqual(planObjectWaves([...nodes].reverse()), plan);
    // Every kept reference points to an earlier wave.
    const wave = new Map(plan.waves.flatMap((w, i) => w.map((id) => [id, i] as const)));
    for (const n of nodes) for (const r of n.refs) {
      if (!plan.brokenCycles.some((e) => e.from === n.id && e.to === r)) assert.ok(wave.get(r)! < wave.get(n.id)!, `${n.id} -> ${r}`);
    }
  });

  it('handles a long chain without deep recursion in cycle detection', () => {
    const nodes: PlanNode[] = Array.from({ length: 5000 }, (_, i) => ({ id: `W/n/${i}`, kind: 'W', refs: i ? [`W/n/${i - 1}`] : [] }));
    assert.equal(planObjectWaves(nodes).waves.length, 5000);
  });
});
