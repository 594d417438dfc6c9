import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest, selectNamespaces } from '../../src/domain/request.js';

const valid = {
  source: { cluster: 'source' },
  target: { cluster: 'target' },
  storage: { bucket: 'kubeferry' },
  namespaces: { include: ['shop'] },
  routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] }],
};

function problemsOf(input: unknown): string[] {
  try {
    parseMigrationRequest(input);
  } catch (err) {
    assert.ok(err instanceof InvalidRequestError, `expected InvalidRequestError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('the request was accepted');
}

describe('migration request', () => {
  it('fills in defaults for a minimal request', () => {
    const r = parseMigrationRequest(valid);
    assert.equal(r.task, 'migrate');
    assert.equal(r.storage.prefix, 'kubeferry');
    assert.deepEqual(r.resources, { include: ['*'], exclude: [] });
    assert.equal(r.clusterResources, 'auto');
    assert.deepEqual(r.sanitize, { keepNodePorts: false });
    assert.deepEqual(r.traffic.steps, [10, 25, 50, 100].map((weight) => ({ weight, approval: false })));
    assert.deepEqual(r.traffic.observeFor, '0s');
    assert.equal(r.traffic.ratio, 'overall');
    const route = r.routes[0]!;
    assert.ok(route.router === 'haproxy');
    assert.equal(route.sourceServer, 'source');
    assert.equal(route.targetServer, 'target');
  });

  const cases: [string, unknown, RegExp][] = [
    ['missing source', { ...valid, source: undefined }, /^source: /],
    ['same source and target', { ...valid, target: { cluster: 'source' } }, /^target\.cluster: source and target must be different/],
    ['bucket with upper case', { ...valid, storage: { bucket: 'My_Bucket' } }, /^storage\.bucket: an S3 bucket name/],
    ['prefix with traversal', { ...valid, storage: { bucket: 'kubeferry', prefix: '../etc' } }, /^storage\.prefix: a key prefix without "\.\."/],
    ...['', '/', '/teams', 'teams//shop', './teams', 'teams/./shop'].map((prefix): [string, unknown, RegExp] =>
      [`prefix "${prefix}" that a file-system gateway could fold onto another`, { ...valid, storage: { bucket: 'kubeferry', prefix } }, /^storage\.prefix: a key prefix of "\/"-separated segments, none empty or "\."/]),
    ['no namespace', { ...valid, namespaces: { include: [] } }, /^namespaces\.include: name at least one namespace/],
    ['bad namespace', { ...valid, namespaces: { include: ['Shop!'] } }, /^namespaces\.include\.0: a namespace name or pattern with \*/],
    ['include and exclude overlap', { ...valid, namespaces: { include: ['shop'], exclude: ['shop'] } }, /^namespaces: namespaces both included and excluded: shop/],
    ['a resource type that is no name', { ...valid, resources: { include: ['pods', 'deploy ments'] } }, /^resources\.include\.1: "deploy ments" is not a resource type/],
    ['a wildcard inside a resource type', { ...valid, resources: { include: ['*.apps'] } }, /^resources\.include\.0: "\*\.apps": "\*" stands alone/],
    ['a bad resource exclude', { ...valid, resources: { exclude: ['secrets/'] } }, /^resources\.exclude\.0: "secrets\/" is not a resource type/],
    ['excluding every resource type', { ...valid, resources: { exclude: ['*'] } }, /^resources\.exclude\.0: "\*" would leave out every type/],
    ['no resource type', { ...valid, resources: { include: [] } }, /^resources\.include: name at least one resource type, or "\*"/],
    ['a resource type both included and excluded', { ...valid, resources: { include: ['secrets', 'Deployments.apps'], exclude: ['deployments.apps'] } },
      /^resources: resource types both included and excluded: Deployments\.apps$/],
    ['an unknown resource field', { ...valid, resources: { include: ['*'], only: ['pods'] } }, /^resources: Unrecognized key: "only"/],
    ['an unknown clusterResources mode', { ...valid, clusterResources: 'all' }, /^clusterResources: clusterResources must be "auto", "include" or "exclude"/],
    ['keepNodePorts that is no boolean', { ...valid, sanitize: { keepNodePorts: 'yes' } }, /^sanitize\.keepNodePorts: keepNodePorts must be true or false/],
    ['an unknown sanitize option', { ...valid, sanitize: { keepClusterIPs: true } }, /^sanitize: Unrecognized key: "keepClusterIPs"/],
    ['same source and target for a plan', { ...valid, task: 'plan', target: { cluster: 'source' } }, /^target\.cluster: source and target must be different/],
    ['a workload with too many parts', { ...valid, routes: [{ ...valid.routes[0], workloads: ['apps/deployment/shop/web'] }] },
      /^routes\.0\.workloads\.0: a workload as "namespace\/name" or "kind\/namespace\/name"/],
    ['a workload without a namespace', { ...valid, routes: [{ ...valid.routes[0], workloads: ['web'] }] }, /^routes\.0\.workloads\.0: a workload as/],
    ['a workload with upper case', { ...valid, routes: [{ ...valid.routes[0], workloads: ['Deployment/shop/web'] }] }, /^routes\.0\.workloads\.0: a workload as/],
    ['a bad namespace exclude', { ...valid, namespaces: { include: ['*'], exclude: ['kube_system'] } },
      /^namespaces\.exclude\.0: a namespace name or pattern with \*/],
    ['weights not increasing', { ...valid, traffic: { steps: [10, 50, 25, 100] } }, /^traffic\.steps\.2: weights must increase: 25 follows 50/],
    ['weight above 100', { ...valid, traffic: { steps: [10, 150] } }, /^traffic\.steps\.1: /],
    ['last step not 100', { ...valid, traffic: { steps: [10, 50] } }, /^traffic\.steps: the last step must be 100/],
    ['zero interval', { ...valid, traffic: { stepInterval: '0s' } }, /^traffic\.stepInterval: traffic\.stepInterval must be longer than zero/],
    ['unparseable interval', { ...valid, traffic: { stepInterval: 'soon' } }, /"soon" is not a duration/],
    ['a gateway-api route without its HTTPRoute', { ...valid, routes: [{ name: 'web', router: 'gateway-api', cluster: 'edge', namespace: 'shop', sourceBackend: 'a', targetBackend: 'b', workloads: ['shop/web'] }] }, /^routes\.0\.httpRoute: /],
    ['an ingress-nginx route with a bad Ingress name', { ...valid, routes: [{ name: 'web', router: 'ingress-nginx', cluster: 'edge', namespace: 'shop', canaryIngress: 'Web Canary', workloads: ['shop/web'] }] }, /^routes\.0\.canaryIngress: the canary Ingress's name/],
    ['an approval step without a weight', { ...valid, traffic: { steps: [10, { approval: true }, 100] } }, /^traffic\.steps\.1: a step is a weight 1\.\.100, or \{ "weight": 1\.\.100, "approval": true \}/],
    ['a grayscale threshold shorter than one step', { ...valid, traffic: { stepInterval: '5m', cutoverAfter: '2m' } }, /^traffic\.cutoverAfter: the grayscale time threshold \(2m\) is shorter than one step interval \(5m\)/],
    ['an unknown ratio', { ...valid, traffic: { ratio: 'average' } }, /^traffic\.ratio: ratio must be "overall" or "route"/],
    ['a negative observe period', { ...valid, traffic: { observeFor: '-5m' } }, /^traffic\.observeFor: "-5m" is not a duration/],
    ['unknown router', { ...valid, routes: [{ ...valid.routes[0], router: 'istio' }] }, /^routes\.0\.router: router must be one of "haproxy", "gateway-api", "ingress-nginx"/],
    ['route without workloads', { ...valid, routes: [{ ...valid.routes[0], workloads: [] }] }, /^routes\.0\.workloads: list at least one workload/],
    ['duplicate route', { ...valid, routes: [valid.routes[0], valid.routes[0]] }, /^routes\.1\.name: route "web" is listed twice/],
    ['restore without backup id', { ...valid, task: 'restore' }, /^backupId: a restore needs the id of an existing backup/],
    ['unknown task', { ...valid, task: 'copy' }, /^task: task must be one of/],
    ['unknown field', { ...valid, kubeconfig: 'apiVersion: v1' }, /^\(request\): Unrecognized key: "kubeconfig"/],
    ['a bad namespace mapping', { ...valid, namespaces: { include: ['shop'], mapping: ['shop=shop2'] } }, /^namespaces\.mapping\.0: "shop=shop2" is not "old:new"/],
    ['a system namespace named without allowSystemNamespaces', { ...valid, namespaces: { include: ['shop', 'kube-system'] } },
      /^namespaces\.include\.1: "kube-system" is a system namespace of the cluster; set allowSystemNamespaces: true/],
    ['a mapping into a system namespace', { ...valid, namespaces: { include: ['shop'], mapping: ['shop:kube-system'] } },
      /^namespaces\.mapping: "shop:kube-system" maps into the system namespace "kube-system"/],
    ['a mapping out of a system namespace, even when allowed', { ...valid, allowSystemNamespaces: true, namespaces: { include: ['kube-public'], mapping: ['kube-public:pub'] } },
      /^namespaces\.mapping: "kube-public:pub" maps out of the system namespace "kube-public"/],
    ['a mapping that lands two selected namespaces in one', { ...valid, namespaces: { include: ['shop', 'billing'], mapping: ['shop:billing'] } },
      /^namespaces\.mapping: the mapping is not one-to-one: "shop" and "billing" would both land in "billing"/],
    ['a namespace pattern longer than a namespace name', { ...valid, namespaces: { include: ['a'.repeat(64)] } }, /^namespaces\.include\.0: a namespace name or pattern of at most 63/],
    ['more routes than a request may hold', { ...valid, routes: Array.from({ length: 101 }, (_, i) => ({ ...valid.routes[0], name: `r${i}` })) }, /^routes: at most 100 routes/],
    ['more namespaces than a request may hold', { ...valid, namespaces: { include: Array.from({ length: 1001 }, (_, i) => `ns-${i}`) } }, /^namespaces\.include: at most 1000 entries/],
    ['more steps than a request may hold', { ...valid, traffic: { steps: Array.from({ length: 101 }, (_, i) => i) } }, /^traffic\.steps: at most 100 steps/],
    ['haproxy backend with a command in it', { ...valid, routes: [{ ...valid.routes[0], backend: 'web; shutdown' }] }, /^routes\.0\.backend: /],
  ];
  for (const [name, input, expected] of cases) {
    it(`rejects ${name}, naming the field`, () => {
      const problems = problemsOf(input);
      assert.ok(problems.some((p) => expected.test(p)), `no problem matches ${expected}: ${JSON.stringify(problems)}`);
    });
  }

  it('accepts the three routers, approval gates, a grayscale threshold and the ratio options', () => {
    const r = parseMigrationRequest({
      ...valid,
      routes: [
        valid.routes[0],
        { name: 'api', router: 'gateway-api', cluster: 'edge', namespace: 'shop', httpRoute: 'api', sourceBackend: 'api-source', targetBackend: { name: 'api-target', namespace: 'shop-v2' }, workloads: ['shop/api'] },
        { name: 'www', router: 'ingress-nginx', cluster: 'edge', namespace: 'shop', canaryIngress: 'www-canary', workloads: ['shop/www'] },
      ],
      traffic: { steps: [5, { weight: 50, approval: true }, 100], stepInterval: '5m', cutoverAfter: '1h', ratio: 'route', weightByReplicas: true, observeFor: '10m' },
    });
    assert.deepEqual(r.traffic.steps, [{ weight: 5, approval: false }, { weight: 50, approval: true }, { weight: 100, approval: false }]);
    const api = r.routes[1]!;
    assert.ok(api.router === 'gateway-api');
    assert.deepEqual(api.sourceBackend, { name: 'api-source' });
    assert.deepEqual(api.targetBackend, { name: 'api-target', namespace: 'shop-v2' });
    assert.equal(r.traffic.cutoverAfter, '1h');
    assert.equal(r.traffic.ratio, 'route');
  });

  it('parses every duration once into milliseconds, keeping the value as written', () => {
    const r = parseMigrationRequest({
      ...valid,
      traffic: { stepInterval: '1m30s', cutoverAfter: '1h', observeFor: 90 },
      readiness: { pollInterval: 2.5, timeout: '10m' },
    });
    assert.deepEqual(
      [r.traffic.stepIntervalMs, r.traffic.cutoverAfterMs, r.traffic.observeForMs, r.readiness.pollIntervalMs, r.readiness.timeoutMs],
      [90_000, 3_600_000, 90_000, 2_500, 600_000],
    );
    assert.equal(r.traffic.stepInterval, '1m30s');
    assert.equal(r.readiness.pollInterval, 2.5);
    const defaults = parseMigrationRequest(valid);
    assert.deepEqual(
      [defaults.traffic.stepIntervalMs, defaults.traffic.observeForMs, defaults.readiness.pollIntervalMs, defaults.readiness.timeoutMs],
      [30_000, 0, 5_000, 600_000],
    );
    assert.equal('cutoverAfterMs' in defaults.traffic, false);
  });

  it('accepts resource filters as kubectl writes them', () => {
    const r = parseMigrationRequest({
      ...valid,
      resources: { include: ['deployments', 'deploy', 'Deployment', 'deployments.apps', 'deployments.v1.apps', 'widgets.example.com', 'cm'], exclude: ['secrets'] },
    });
    assert.deepEqual(r.resources.exclude, ['secrets']);
    assert.equal(r.resources.include.length, 7);
    assert.deepEqual(parseMigrationRequest({ ...valid, resources: { exclude: ['events'] } }).resources, { include: ['*'], exclude: ['events'] });
  });

  it('accepts every clusterResources mode and keepNodePorts', () => {
    for (const mode of ['auto', 'include', 'exclude'] as const) assert.equal(parseMigrationRequest({ ...valid, clusterResources: mode }).clusterResources, mode);
    assert.deepEqual(parseMigrationRequest({ ...valid, sanitize: { keepNodePorts: true } }).sanitize, { keepNodePorts: true });
    assert.deepEqual(parseMigrationRequest({ ...valid, sanitize: {} }).sanitize, { keepNodePorts: false });
  });

  it('accepts a plan (dry run) between two clusters', () => {
    assert.equal(parseMigrationRequest({ ...valid, task: 'plan' }).task, 'plan');
  });

  it('still lets a backup name the same cluster twice', () => {
    assert.equal(parseMigrationRequest({ ...valid, task: 'backup', target: { cluster: 'source' } }).task, 'backup');
  });

  it('accepts workloads as namespace/name and kind/namespace/name', () => {
    const workloads = ['shop/web', 'deployment/shop/web', 'statefulset/shop/db', 'widgets.example.com/shop/w-1', 'shop/web.v2'];
    assert.deepEqual(parseMigrationRequest({ ...valid, routes: [{ ...valid.routes[0], workloads }] }).routes[0]!.workloads, workloads);
  });

  it('lets a request copy system namespaces only when it says so', () => {
    const r = parseMigrationRequest({ ...valid, allowSystemNamespaces: true, namespaces: { include: ['kube-public'] } });
    assert.equal(r.allowSystemNamespaces, true);
    assert.equal(parseMigrationRequest(valid).allowSystemNamespaces, false);
  });

  it('collapses runs of * in namespace patterns', () => {
    assert.deepEqual(parseMigrationRequest({ ...valid, namespaces: { include: ['shop-***'], exclude: ['**-tmp'] } }).namespaces, { include: ['shop-*'], exclude: ['*-tmp'], mapping: {} });
  });

  it('accepts namespace patterns with * in include and exclude', () => {
    const r = parseMigrationRequest({ ...valid, namespaces: { include: ['shop-*', '*'], exclude: ['*-test', 'kube-*'] } });
    assert.deepEqual(r.namespaces.exclude, ['*-test', 'kube-*']);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ ...valid, storage: { bucket: 'X' }, namespaces: { include: [] } });
    assert.equal(problems.length, 2);
  });
});

describe('migration id', () => {
  it('must be usable as an S3 key segment and a label value', () => {
    assert.equal(migrationIdProblem('shop-2026-11'), undefined);
    for (const bad of ['../x', 'a/b', 'Upper', '-x', 'x'.repeat(64), '']) assert.match(migrationIdProblem(bad)!, /lower-case letters/, bad);
  });
});

describe('namespace selection', () => {
  it('matches wildcards and honours excludes', () => {
    const selected = selectNamespaces(
      { namespaces: { include: ['shop-*', 'billing'], exclude: ['shop-test'] } },
      ['billing', 'default', 'shop-prod', 'shop-test', 'kube-system'],
    );
    assert.deepEqual(selected, ['billing', 'shop-prod']);
  });
  it('treats regex characters in names literally', () => {
    assert.deepEqual(selectNamespaces({ namespaces: { include: ['a.b'], exclude: [] } }, ['a.b', 'axb']), ['a.b']);
  });
});
