import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ApiResourceInfo, resourceFilterProblem, resourceTypeName, selectResourceTypes } from '../../src/domain/resource-filter.js';

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const type = (group: string, version: string, resource: string, kind: string, namespaced: boolean, more: Partial<ApiResourceInfo> = {}): ApiResourceInfo =>
  ({ group, version, resource, kind, namespaced, verbs: RW, singularName: kind.toLowerCase(), ...more });

// What a v1.33 API server with a CRD, the metrics API and Gateway API serves, at preferred versions, in
// discovery order (deliberately not sorted).
const available: ApiResourceInfo[] = [
  type('', 'v1', 'bindings', 'Binding', true, { verbs: ['create'] }),
  type('', 'v1', 'componentstatuses', 'ComponentStatus', false, { verbs: ['get', 'list'], shortNames: ['cs'] }),
  type('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  type('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'], singularName: 'endpoints' }),
  type('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  type('', 'v1', 'namespaces', 'Namespace', false, { verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'] }),
  type('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'] }),
  type('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'] }),
  type('', 'v1', 'persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'] }),
  type('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'] }),
  type('', 'v1', 'secrets', 'Secret', true),
  type('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  type('', 'v1', 'services', 'Service', true, { shortNames: ['svc'] }),
  type('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true),
  type('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'] }),
  type('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'] }),
  type('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'] }),
  type('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'] }),
  type('events.k8s.io', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  type('authentication.k8s.io', 'v1', 'tokenreviews', 'TokenReview', false, { verbs: ['create'] }),
  type('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, { verbs: ['create'] }),
  type('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, { shortNames: ['hpa'] }),
  type('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'] }),
  type('batch', 'v1', 'jobs', 'Job', true),
  type('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, { shortNames: ['pdb'] }),
  type('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  type('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  type('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  type('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  type('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  type('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', true),
  type('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, { shortNames: ['crd', 'crds'] }),
  type('gateway.networking.k8s.io', 'v1', 'httproutes', 'HTTPRoute', true),
  type('example.com', 'v1alpha1', 'widgets', 'Widget', true, { shortNames: ['wd'] }),
  type('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics', true, { verbs: ['get', 'list'], singularName: '' }),
];

const select = (include: string[], exclude: string[] = []) => selectResourceTypes(available, { include, exclude });
const selectedNames = (include: string[], exclude: string[] = []) => select(include, exclude).selected.map(resourceTypeName);

describe('resource type names', () => {
  it('are the plural for the core group and plural.group otherwise', () => {
    assert.equal(resourceTypeName({ group: '', resource: 'secrets' }), 'secrets');
    assert.equal(resourceTypeName({ group: 'apps', resource: 'deployments' }), 'deployments.apps');
  });
});

describe('resource filter syntax', () => {
  it('accepts "*" and kubectl names, with group or version and group, in any case', () => {
    for (const ok of ['*', 'deployments', 'deploy', 'Deployment', 'deployments.apps', 'deployments.v1.apps', 'widgets.example.com', 'HTTPRoute', 'cm']) {
      assert.equal(resourceFilterProblem(ok), undefined, ok);
    }
  });
  it('refuses anything else, naming the entry', () => {
    for (const bad of ['', ' deployments', 'deployments.', '.apps', 'deployments..apps', 'pods/log', 'deploy_ments', '-pods']) {
      assert.match(resourceFilterProblem(bad)!, /is not a resource type; write "\*" or a type as kubectl names it/, JSON.stringify(bad));
    }
    for (const bad of ['*.apps', 'deploy*', '**']) assert.match(resourceFilterProblem(bad)!, /"\*" stands alone/, bad);
    assert.match(resourceFilterProblem('pods/log')!, /^"pods\/log"/);
  });
});

describe('resource type selection', () => {
  it('selects every listable type for "*", leaving out the source\'s own state with a reason, in a fixed order', () => {
    const { selected, leftOut, unknown } = select(['*']);
    assert.deepEqual(selected.map(resourceTypeName), [
      'configmaps', 'endpoints', 'namespaces', 'persistentvolumeclaims', 'pods', 'secrets', 'serviceaccounts', 'services',
      'customresourcedefinitions.apiextensions.k8s.io',
      'daemonsets.apps', 'deployments.apps', 'replicasets.apps', 'statefulsets.apps',
      'horizontalpodautoscalers.autoscaling',
      'cronjobs.batch', 'jobs.batch',
      'endpointslices.discovery.k8s.io',
      'widgets.example.com',
      'httproutes.gateway.networking.k8s.io',
      'poddisruptionbudgets.policy',
      'clusterrolebindings.rbac.authorization.k8s.io', 'clusterroles.rbac.authorization.k8s.io',
      'rolebindings.rbac.authorization.k8s.io', 'roles.rbac.authorization.k8s.io',
    ]);
    assert.deepEqual(leftOut, [
      { type: 'componentstatuses', reason: "health of the source's control-plane components" },
      { type: 'events', reason: "events describe the source's history" },
      { type: 'nodes', reason: "nodes belong to the source's infrastructure" },
      { type: 'persistentvolumes', reason: "volumes hold the source's storage; restore the claims and let the target provision" },
      { type: 'controllerrevisions.apps', reason: 'owned history of StatefulSets/DaemonSets; recreated by their controllers' },
      { type: 'leases.coordination.k8s.io', reason: 'leader-election and heartbeat state of the source' },
      { type: 'events.events.k8s.io', reason: "events describe the source's history" },
      { type: 'pods.metrics.k8s.io', reason: 'live usage measurements of the source, not stored objects' },
    ], 'types that cannot be listed (bindings, reviews) are not reported for "*"');
    assert.deepEqual(unknown, []);
  });

  it('gives the same answer whatever order discovery reports the types in', () => {
    const shuffled = [...available].reverse();
    const a = selectResourceTypes(available, { include: ['*'], exclude: ['secrets'] });
    const b = selectResourceTypes(shuffled, { include: ['*'], exclude: ['secrets'] });
    assert.deepEqual(b, a);
    assert.deepEqual(selectedNames(['jobs', 'secrets', 'deploy', 'configmaps']), ['configmaps', 'secrets', 'deployments.apps', 'jobs.batch']);
  });

  it('matches a plural, singular, short name or kind, case-insensitively', () => {
    for (const entry of ['deployments', 'deployment', 'deploy', 'Deployment', 'DEPLOY']) {
      assert.deepEqual(selectedNames([entry]), ['deployments.apps'], entry);
    }
    assert.deepEqual(selectedNames(['wd']), ['widgets.example.com']);
    assert.deepEqual(selectedNames(['widget']), ['widgets.example.com']);
    assert.deepEqual(selectedNames(['hpa', 'pdb', 'svc', 'sa', 'cm']), [
      'configmaps', 'serviceaccounts', 'services', 'horizontalpodautoscalers.autoscaling', 'poddisruptionbudgets.policy',
    ]);
    assert.deepEqual(selectedNames(['httproute']), ['httproutes.gateway.networking.k8s.io']);
  });

  it('matches ".group" and ".version.group" suffixes against the full group name only', () => {
    assert.deepEqual(selectedNames(['deployments.apps']), ['deployments.apps']);
    assert.deepEqual(selectedNames(['deploy.v1.apps']), ['deployments.apps']);
    assert.deepEqual(selectedNames(['widgets.example.com']), ['widgets.example.com']);
    assert.deepEqual(selectedNames(['wd.v1alpha1.example.com']), ['widgets.example.com']);
    assert.deepEqual(selectedNames(['httproutes.gateway.networking.k8s.io']), ['httproutes.gateway.networking.k8s.io']);
    assert.deepEqual(selectedNames(['roles.rbac.authorization.k8s.io']), ['roles.rbac.authorization.k8s.io']);
    assert.deepEqual(select(['deployments.app', 'widgets.example', 'deployments.v2.apps', 'widgets.com']).unknown,
      ['deployments.app', 'widgets.example', 'deployments.v2.apps', 'widgets.com']);
  });

  it('resolves a name the core group serves to the core type only, as kubectl does', () => {
    assert.deepEqual(selectedNames(['pods']), ['pods']);
    assert.deepEqual(select(['pods.metrics.k8s.io']).leftOut, [{ type: 'pods.metrics.k8s.io', reason: 'live usage measurements of the source, not stored objects' }]);
    assert.deepEqual(select(['events']).leftOut.map((l) => l.type), ['events']);
    assert.deepEqual(select(['events.events.k8s.io']).leftOut.map((l) => l.type), ['events.events.k8s.io']);
  });

  it('lets exclude win over include, by any name', () => {
    assert.deepEqual(selectedNames(['deployments', 'secrets'], ['deploy']), ['secrets']);
    const all = selectedNames(['*'], ['secrets', 'sts', 'Role', 'clusterroles.rbac.authorization.k8s.io', 'widgets.v1alpha1.example.com']);
    for (const gone of ['secrets', 'statefulsets.apps', 'roles.rbac.authorization.k8s.io', 'clusterroles.rbac.authorization.k8s.io', 'widgets.example.com']) {
      assert.ok(!all.includes(gone), gone);
    }
    assert.ok(all.includes('rolebindings.rbac.authorization.k8s.io'));
    assert.deepEqual(select(['secrets'], ['not-served']).unknown, [], 'an exclude that matches nothing is harmless');
  });

  it('reports every include entry that matches nothing, as written', () => {
    const { selected, unknown } = select(['deployments', 'gizmos', 'Deploymnet', 'secrets.apps', 'routes.route.openshift.io']);
    assert.deepEqual(selected.map(resourceTypeName), ['deployments.apps']);
    assert.deepEqual(unknown, ['gizmos', 'Deploymnet', 'secrets.apps', 'routes.route.openshift.io']);
  });

  it('reports a never-copied type only when the filter would have selected it', () => {
    assert.deepEqual(select(['secrets']).leftOut, []);
    assert.deepEqual(select(['*'], ['events', 'ev.events.k8s.io', 'nodes', 'leases', 'endpoints', 'endpointslices', 'controllerrevisions',
      'pv', 'cs', 'pods.metrics.k8s.io']).leftOut, []);
    assert.deepEqual(select(['nodes', 'leases.coordination.k8s.io', 'secrets']), {
      selected: available.filter((r) => r.resource === 'secrets'),
      leftOut: [
        { type: 'nodes', reason: "nodes belong to the source's infrastructure" },
        { type: 'leases.coordination.k8s.io', reason: 'leader-election and heartbeat state of the source' },
      ],
      unknown: [],
    });
  });

  it('reports a named type that cannot be listed, with the never-copy reason if it has one', () => {
    assert.deepEqual(select(['tokenreviews', 'bindings']).leftOut, [
      { type: 'bindings', reason: "pod-to-node assignments of the source's scheduler" },
      { type: 'tokenreviews.authentication.k8s.io', reason: 'requests put to the API server, not stored objects' },
    ]);
    const createOnly = [type('example.com', 'v1', 'pings', 'Ping', true, { verbs: ['create'] })];
    assert.deepEqual(selectResourceTypes(createOnly, { include: ['pings'], exclude: [] }),
      { selected: [], leftOut: [{ type: 'pings.example.com', reason: 'the API server does not list them (verbs: create)' }], unknown: [] });
    assert.deepEqual(selectResourceTypes(createOnly, { include: ['*'], exclude: [] }), { selected: [], leftOut: [], unknown: [] });
  });

  it('matches a name served by several non-core groups in all of them', () => {
    const gateways = [
      type('gateway.networking.k8s.io', 'v1', 'gateways', 'Gateway', true, { shortNames: ['gtw'] }),
      type('networking.istio.io', 'v1', 'gateways', 'Gateway', true),
    ];
    assert.deepEqual(selectResourceTypes(gateways, { include: ['gateways'], exclude: [] }).selected.map(resourceTypeName),
      ['gateways.gateway.networking.k8s.io', 'gateways.networking.istio.io']);
    assert.deepEqual(selectResourceTypes(gateways, { include: ['gateways.networking.istio.io'], exclude: [] }).selected.map(resourceTypeName),
      ['gateways.networking.istio.io']);
  });

  it('lists a type once even when several entries name it, and selects nothing from nothing', () => {
    assert.deepEqual(selectedNames(['*', 'deploy', 'deployments.apps']).filter((t) => t === 'deployments.apps'), ['deployments.apps']);
    assert.deepEqual(selectResourceTypes([], { include: ['*'], exclude: [] }), { selected: [], leftOut: [], unknown: ['*'] });
  });
});

describe('admission webhooks and policies', () => {
  const withAdmission = [...available,
    type('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false),
    type('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false),
    type('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicies', 'ValidatingAdmissionPolicy', false)];
  it('are never selected by "*", and are reported as left out with the way to copy them', () => {
    const s = selectResourceTypes(withAdmission, { include: ['*'], exclude: [] });
    assert.ok(!s.selected.some((r) => r.group === 'admissionregistration.k8s.io'));
    const left = s.leftOut.filter((l) => l.type.endsWith('.admissionregistration.k8s.io'));
    assert.equal(left.length, 3);
    assert.match(left[0]!.reason, /act on every request of the whole target.*name the type in resources\.include/);
  });
  it('are selected when resources.include names them', () => {
    const s = selectResourceTypes(withAdmission, { include: ['*', 'validatingwebhookconfigurations'], exclude: [] });
    assert.deepEqual(s.selected.filter((r) => r.group === 'admissionregistration.k8s.io').map((r) => r.resource), ['validatingwebhookconfigurations']);
  });
});
