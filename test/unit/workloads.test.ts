import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findWorkload, isWorkload, resolveRouteWorkloads } from '../../src/objects/workloads.js';

describe('route workloads', () => {
  const workloads = [
    { id: 'Deployment/shop/web', type: 'deployments.apps', namespace: 'shop', name: 'web' },
    { id: 'StatefulSet/shop/db', type: 'statefulsets.apps', namespace: 'shop', name: 'db' },
    { id: 'Deployment/shop/db', type: 'deployments.apps', namespace: 'shop', name: 'db' },
  ];
  it('are found by namespace/name, or by kind/namespace/name when the name is taken twice', () => {
    assert.equal(findWorkload(workloads, 'shop/web')?.id, 'Deployment/shop/web');
    assert.equal(findWorkload(workloads, 'shop/db'), undefined);
    assert.equal(findWorkload(workloads, 'statefulset/shop/db')?.id, 'StatefulSet/shop/db');
    assert.equal(findWorkload(workloads, 'deployments.apps/shop/db')?.id, 'Deployment/shop/db');
    assert.equal(findWorkload(workloads, 'shop/nope'), undefined);
  });

  it('of each route are resolved together, naming every reference that matches none or several', () => {
    const { byRoute, unknown } = resolveRouteWorkloads(workloads, [
      { name: 'web', workloads: ['shop/web', 'statefulset/shop/db'] },
      { name: 'db', workloads: ['shop/db', 'shop/gone'] },
    ]);
    assert.deepEqual(byRoute.get('web')!.map((w) => w.id), ['Deployment/shop/web', 'StatefulSet/shop/db']);
    assert.deepEqual(byRoute.get('db'), []);
    assert.deepEqual(unknown, ['route "db": shop/db', 'route "db": shop/gone']);
  });
});

describe('workloads', () => {
  it('are the built-in apps and batch controllers, and custom resources reporting a Ready condition', () => {
    assert.equal(isWorkload({ kind: 'Deployment' }, { group: 'apps' }), true);
    assert.equal(isWorkload({ kind: 'Job' }, { group: 'batch' }), true);
    assert.equal(isWorkload({ kind: 'Deployment' }, { group: 'example.com', crd: 'deployments.example.com' }), false);
    assert.equal(isWorkload({ kind: 'ConfigMap' }, { group: '' }), false);
    const widget = (conditions: unknown) => ({ kind: 'Widget', status: { conditions } });
    assert.equal(isWorkload(widget([{ type: 'Ready', status: 'False' }]), { group: 'example.com', crd: 'widgets.example.com' }), true);
    assert.equal(isWorkload(widget([{ type: 'Synced' }]), { group: 'example.com', crd: 'widgets.example.com' }), false);
    assert.equal(isWorkload(widget([{ type: 'Ready' }]), { group: 'example.com' }), false);
  });
});
