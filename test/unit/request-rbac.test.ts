// `kubeferry rbac`: what it prints for a request is scoped to that request, and refuses what cannot be scoped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRANT_LABEL, RbacScopeError, routerRbac, sourceSecretsRbac } from '../../src/domain/request-rbac.js';
import { parseMigrationRequest, type MigrationRequestInput } from '../../src/domain/request.js';
import { leaveOutReason } from '../../src/objects/leave-out.js';
import type { RawObject } from '../../src/store/backup-format.js';

const request = (extra: Partial<MigrationRequestInput> = {}) => parseMigrationRequest({
  source: { cluster: 'prod-a' }, target: { cluster: 'prod-b' }, storage: { bucket: 'backups', prefix: 'p' },
  namespaces: { include: ['shop', 'billing'] }, ...extra,
} as MigrationRequestInput);

describe('kubeferry rbac', () => {
  it('grants the source identity get and list on Secrets in each named namespace, bound to the worker identity, and nothing else', () => {
    const grants = sourceSecretsRbac(request());
    assert.equal(grants.cluster, 'prod-a');
    assert.deepEqual(grants.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`), [
      'Role shop/kubeferry-source-secrets', 'RoleBinding shop/kubeferry-source-secrets', 'Role billing/kubeferry-source-secrets', 'RoleBinding billing/kubeferry-source-secrets',
    ]);
    for (const role of grants.objects.filter((o) => o.kind === 'Role')) assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
    for (const b of grants.objects.filter((o) => o.kind === 'RoleBinding')) {
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'kubeferry', namespace: 'kubeferry-system' }]);
      assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kubeferry-source-secrets' });
    }
  });

  it('refuses to scope Secret reads to a namespace pattern, naming it and the way out', () => {
    assert.throws(() => sourceSecretsRbac(request({ namespaces: { include: ['shop-*', 'billing'] } })), (err: unknown) => {
      assert.ok(err instanceof RbacScopeError);
      assert.match(err.message, /namespaces\.include holds patterns \(shop-\*\).*Name the namespaces, or grant Secrets cluster-wide/);
      return true;
    });
  });

  it('grants no Secret access for a request that leaves Secrets out', () => {
    assert.deepEqual(sourceSecretsRbac(request({ resources: { exclude: ['secrets'] } })).objects, []);
    assert.deepEqual(sourceSecretsRbac(request({ resources: { include: ['configmaps', 'deployments.apps'] } })).objects, []);
    assert.equal(sourceSecretsRbac(request({ resources: { include: ['configmaps', 'secrets'] } })).objects.length, 4);
    // Named any way the backup's own type filter understands: the kind, the singular.
    assert.equal(sourceSecretsRbac(request({ resources: { include: ['Secret'] } })).objects.length, 4);
    assert.deepEqual(sourceSecretsRbac(request({ resources: { exclude: ['secret'] } })).objects, []);
  });

  it('grants each router only the verbs it uses on the one object its route names, in the cluster the route names; HAProxy routes need none', () => {
    const grants = routerRbac(request({
      routes: [
        { name: 'web', router: 'gateway-api', cluster: 'edge', namespace: 'shop', httpRoute: 'web-route', sourceBackend: 'web-a', targetBackend: 'web-b', workloads: ['shop/web'] },
        { name: 'api', router: 'ingress-nginx', cluster: 'prod-b', namespace: 'shop', canaryIngress: 'api-canary', workloads: ['shop/api'] },
        { name: 'lb', router: 'haproxy', backend: 'lb', workloads: ['shop/web'] },
      ],
    } as Partial<MigrationRequestInput>).routes);
    assert.deepEqual(grants.map((g) => g.cluster), ['edge', 'prod-b']);
    assert.deepEqual(grants[0]!.objects[0]!.rules, [{ apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], resourceNames: ['web-route'], verbs: ['get', 'update'] }]);
    assert.deepEqual(grants[1]!.objects[0]!.rules, [{ apiGroups: ['networking.k8s.io'], resources: ['ingresses'], resourceNames: ['api-canary'], verbs: ['get', 'patch'] }]);
    assert.deepEqual(grants.flatMap((g) => g.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)), [
      'Role shop/kubeferry-router-web', 'RoleBinding shop/kubeferry-router-web', 'Role shop/kubeferry-router-api', 'RoleBinding shop/kubeferry-router-api',
    ]);
  });

  it('binds another identity when asked, and marks every grant so that a backup of its namespace leaves it out', () => {
    const grants = sourceSecretsRbac(request(), { namespace: 'platform', name: 'mover' });
    assert.deepEqual(grants.objects[1]!.subjects, [{ kind: 'ServiceAccount', name: 'mover', namespace: 'platform' }]);
    for (const o of grants.objects) {
      assert.equal(o.metadata.labels[GRANT_LABEL], 'source-secrets');
      assert.match(leaveOutReason(o as unknown as RawObject)!, /kubeferry's own access/);
    }
  });
});
