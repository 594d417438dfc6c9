// The least-privilege identities of deploy/rbac/ on the real local stack. The manifests are applied with
// the admin kubeconfigs, each cluster's kubeferry ServiceAccount gets a real token from the TokenRequest
// API, and a worker runs with kubeconfigs holding only those tokens. Under them: a migration of a small
// but varied app (Namespace, ServiceAccount, ConfigMap, Secret, Role and RoleBinding, Deployment,
// Service, a CRD and its custom resource), restores of that backup over what exists (the server-side
// apply dry run, and the apply), both traffic routers that live in a cluster, a rollback with cleanup of
// another migration, and a plan all succeed. Then a sample of what the job never needs, sent as real
// requests with the same tokens, is refused with 403.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Client } from '@temporalio/client';
import type { RawObject } from '../../src/store/backup-format.js';
import { KubeApiError, KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { startMigration } from '../../src/client.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { GatewayApiRouter } from '../../src/routers/gateway-api.js';
import { CANARY, CANARY_WEIGHT, IngressNginxRouter } from '../../src/routers/ingress-nginx.js';
import { routerRbac, sourceSecretsRbac } from '../../src/domain/request-rbac.js';
import { parseMigrationRequest, type RouteSpec } from '../../src/domain/request.js';
import {
  applyManifest, applyObjects, deleteManifest, IDENTITY_NAME, IDENTITY_NAMESPACE, manifestObjects, objectPath, requestAs, serviceAccountToken, SOURCE_RBAC, startWorkerFromConfig,
  TARGET_RBAC, tokenIdentity, waitAllowed, writeWorkerConfig, type Identity, type IdentityWorker,
} from '../support/identity.js';
import { kubeconfigFrom, stackEnv, waitFor } from '../support/stack.js';

const env = stackEnv();
const run = `rb-${randomBytes(3).toString('hex')}`;
const appNs = `${run}-app`;
const rollbackNs = `${run}-rb`;
const group = `${run}.kubeferry.test`;
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };
const user = `system:serviceaccount:${IDENTITY_NAMESPACE}:${IDENTITY_NAME}`;
/** The ClusterRoles an operator adds for a custom resource group (the templates in target-restorer.yaml and source-reader.yaml). */
const extensionRole = `kubeferry-target-restorer-${run}`;
const sourceExtensionRole = `kubeferry-source-reader-${run}`;
/** The routers' own ServiceAccount in the target, bound by what `kubeferry rbac router` prints. */
const routerIdentity = `kubeferry-router-${run}`;
const csrName = `${run}-csr`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-rbac-'));
const adminSource = new KubeRest(kubeconfigFrom(env.SOURCE_KUBECONFIG!));
const adminTarget = new KubeRest(kubeconfigFrom(env.TARGET_KUBECONFIG!));
let sourceId: Identity;
let targetId: Identity;
/** The worker's own view: the identities' kubeconfigs, through the same client the activities use. */
let sourceAs: KubeRest;
let targetAs: KubeRest;
let worker: IdentityWorker;
let client: Client;
let taskQueue: string;
const started = Date.now();

const crd = (plural: string, kind: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.${group}` },
  spec: {
    group, scope: 'Namespaced', names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
});


const exists = (rest: KubeRest, p: string) => rest.get(p).then(() => true, (err: unknown) => {
  if (err instanceof KubeApiError && err.code === 404) return false;
  throw err;
});

/**
 * The app of one namespace, in creation order. The Role grants `watch`, which the target identity does not
 * hold itself: restoring it takes `escalate`, binding it `bind`. `schedulable: false` gives the Deployment a
 * node selector no node matches, so it never becomes ready and its migration waits in readiness.
 */
function app(ns: string, plural: string, kind: string, schedulable: boolean): [string, object][] {
  const api = `/api/v1/namespaces/${ns}`;
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}`;
  return [
    ['/api/v1/namespaces', { metadata: { name: ns } }],
    [`${api}/serviceaccounts`, { metadata: { name: 'web' } }],
    [`${api}/configmaps`, { metadata: { name: 'web-config' }, data: { MODE: 'least-privilege' } }],
    [`${api}/secrets`, { metadata: { name: 'web-secret' }, stringData: { password: `pw-${run}` } }],
    [`${rbac}/roles`, { metadata: { name: 'config-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }] }],
    [`${rbac}/rolebindings`, {
      metadata: { name: 'web-config-reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'config-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: ns }],
    }],
    [`/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 2, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            serviceAccountName: 'web',
            ...(schedulable ? {} : { nodeSelector: { 'kubeferry.test/nowhere': 'true' } }),
            containers: [{ name: 'web', image: 'registry.example/web:1', envFrom: [{ configMapRef: { name: 'web-config' } }] }],
            volumes: [{ name: 'secret', secret: { secretName: 'web-secret' } }],
          },
        },
      },
    }],
    [`${api}/services`, { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }],
    [`/apis/${group}/v1/namespaces/${ns}/${plural}`, { apiVersion: `${group}/v1`, kind, metadata: { name: 'one' }, spec: { size: 3 } }],
  ];
}

before(async () => {
  // The administrator installs the identities, and the role for this test's custom resource group.
  await applyManifest(adminSource, SOURCE_RBAC);
  await applyManifest(adminTarget, TARGET_RBAC);
  // Custom groups served before this test (the demo's FeatureFlags, say): the restorer may list them, which a
  // rollback's cleanup needs to see what else a namespace holds before deleting it.
  const servedIn = async (rest: KubeRest) =>
    (await rest.get<{ items: { spec: { group: string } }[] }>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).items.map((c) => c.spec.group);
  const otherTargetGroups = [...new Set(await servedIn(adminTarget))].filter((g) => g !== group).sort();
  await applyObjects(adminTarget, [{
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: extensionRole, labels: { 'kubeferry.io/aggregate-to-target-restorer': 'true' } },
    rules: [
      { apiGroups: [group], resources: ['*'], verbs: ['create', 'get', 'list', 'patch', 'delete'] },
      ...(otherTargetGroups.length ? [{ apiGroups: otherTargetGroups, resources: ['*'], verbs: ['list'] }] : []),
    ],
  } as RawObject]);
  // As an administrator of a cluster with custom resources does, the reader may list every custom group
  // the source serves (its own, and any left by an earlier run, such as the demo's FeatureFlags).
  const customGroups = [...new Set([group, ...(await servedIn(adminSource))])].sort();
  await applyObjects(adminSource, [{
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: sourceExtensionRole, labels: { 'kubeferry.io/aggregate-to-source-reader': 'true' } },
    rules: [{ apiGroups: customGroups, resources: ['*'], verbs: ['list'] }],
  } as RawObject]);

  // Real ServiceAccount tokens, and kubeconfigs that hold nothing else.
  sourceId = tokenIdentity(env.SOURCE_KUBECONFIG!, await serviceAccountToken(adminSource), path.join(tmp, 'source.kubeconfig'));
  targetId = tokenIdentity(env.TARGET_KUBECONFIG!, await serviceAccountToken(adminTarget), path.join(tmp, 'target.kubeconfig'));
  sourceAs = new KubeRest(kubeconfigFrom(sourceId.kubeconfig));
  targetAs = new KubeRest(kubeconfigFrom(targetId.kubeconfig));
  await waitAllowed(sourceAs, [{ verb: 'list', group: 'apps', resource: 'deployments' }, { verb: 'get', resource: 'namespaces' }, { verb: 'list', group, resource: 'widgets' }]);
  // The aggregated role is filled by kube-controller-manager: wait for a rule of each part.
  await waitAllowed(targetAs, [
    { verb: 'create', group: 'apps', resource: 'deployments' }, { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles' },
    { verb: 'create', group: 'gateway.networking.k8s.io', resource: 'httproutes' }, { verb: 'create', group, resource: 'widgets' },
  ]);

  // The stack's worker config, with the clusters pointing at the token kubeconfigs.
  const configFile = path.join(tmp, 'kubeferry.yaml');
  writeWorkerConfig(env.KUBEFERRY_CONFIG!, { source: sourceId.kubeconfig, target: targetId.kubeconfig }, configFile);
  worker = await startWorkerFromConfig(run, configFile);
  ({ client } = worker);
  taskQueue = worker.config.temporal.taskQueue;

  // The apps, in the source.
  for (const [plural, kind] of [['widgets', 'Widget'], ['gizmos', 'Gizmo']] as const) {
    await adminSource.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd(plural, kind) });
  }
  for (const name of [`widgets.${group}`, `gizmos.${group}`]) {
    await waitFor(`CRD ${name} Established in the source`, async () => {
      const c = await adminSource.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
    });
  }
  for (const [p, body] of [...app(appNs, 'widgets', 'Widget', true), ...app(rollbackNs, 'gizmos', 'Gizmo', false)]) {
    // Right after Established the API server may take a moment to serve the new kind.
    await waitFor(`POST ${p}`, () => adminSource.request('POST', p, { body }).then(() => true), 10_000);
  }
  // Secrets, readable in the namespaces the requests name and nowhere else, as `kubeferry rbac source` prints them.
  for (const ns of [appNs, rollbackNs]) {
    await applyObjects(adminSource, sourceSecretsRbac(parseMigrationRequest(request({ namespaces: { include: [ns] } }))).objects as unknown as RawObject[]);
    await waitAllowed(sourceAs, [{ verb: 'list', resource: 'secrets', namespace: ns }]);
  }
});

after(async () => {
  await worker?.stop();
  for (const rest of [adminSource, adminTarget]) {
    for (const p of [
      `/api/v1/namespaces/${appNs}`, `/api/v1/namespaces/${rollbackNs}`,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${group}`,
      `/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrName}`, `/apis/rbac.authorization.k8s.io/v1/clusterroles/${extensionRole}`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${sourceExtensionRole}`, `/api/v1/namespaces/${IDENTITY_NAMESPACE}/serviceaccounts/${routerIdentity}`,
      // What the admission-policy checks try to create, should one of them get through.
      ...['self', 'admins', 'viewer'].map((n) => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${run}-${n}`),
      `/api/v1/namespaces/kube-system/secrets/${run}-minted`,
    ]) await rest.request('DELETE', p).catch(() => undefined);
  }
  await deleteManifest(adminSource, SOURCE_RBAC);
  await deleteManifest(adminTarget, TARGET_RBAC);
  // Nothing of the identities may stay (their Namespace may still be terminating).
  const left: string[] = [];
  for (const [rest, file] of [[adminSource, SOURCE_RBAC], [adminTarget, TARGET_RBAC]] as const) {
    for (const o of manifestObjects(file)) if (o.kind !== 'Namespace' && (await exists(rest, objectPath(o)))) left.push(`${o.kind} ${o.metadata!.name}`);
  }
  if (worker) {
    const store = new ObjectStore(worker.config.storage);
    for (const key of await store.list(storage.bucket, `${storage.prefix}/`).catch(() => [])) await store.delete(storage.bucket, key).catch(() => undefined);
  }
  for (const rest of [adminSource, adminTarget, sourceAs, targetAs]) rest?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(left, [], 'left behind by the test');
  console.log(`# rbac.test.ts: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
});

const request = (extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput => ({
  source: { cluster: 'source' },
  target: { cluster: 'target' },
  storage,
  namespaces: { include: [appNs] },
  readiness: { pollInterval: '1s', timeout: '2m' },
  ...extra,
});

const errorsOf = (r: { progress: { errors: unknown } }) => JSON.stringify(r.progress.errors);

/** Sends a request as `identity` and asserts that RBAC refuses it; returns the API server's message. */
async function refused(t: TestContext, identity: Identity, what: string, method: string, p: string, options: Parameters<typeof requestAs>[3] = {}, as = user): Promise<string> {
  const answer = await requestAs(identity, method, p, options);
  assert.equal(answer.status, 403, `${what} (${method} ${p}) answered ${answer.status}: ${answer.message}`);
  assert.match(answer.message, new RegExp(`^.*forbidden: User "${as}" cannot `), `${what}: ${answer.message}`);
  t.diagnostic(`403 ${what}: ${answer.message}`);
  return answer.message;
}

describe('least-privilege identities (deploy/rbac) on the local stack', () => {
  it('uses real ServiceAccount tokens only: the worker config names kubeconfigs without client certificates', () => {
    for (const [name, id] of [['source', sourceId], ['target', targetId]] as const) {
      assert.equal(worker.config.clusters[name]!.kubeconfig, id.kubeconfig);
      const kc = kubeconfigFrom(id.kubeconfig);
      assert.equal(kc.getCurrentUser()?.token, id.token);
      assert.equal(kc.getCurrentUser()?.certFile ?? kc.getCurrentUser()?.certData, undefined);
      // A bound ServiceAccount token: a JWT whose subject is the kubeferry ServiceAccount.
      const claims = JSON.parse(Buffer.from(id.token.split('.')[1]!, 'base64url').toString()) as { sub?: string };
      assert.equal(claims.sub, user);
    }
  });

  it('migrates a varied app end to end: backup from the read-only source, restore, CRD, RBAC, readiness', async () => {
    const migrationId = `${run}-app`;
    const result = await (await startMigration(client, taskQueue, migrationId, request())).result();
    assert.equal(result.status, 'Completed', errorsOf(result));
    assert.equal(result.progress.objects.failed, 0, errorsOf(result));
    // Namespace, ServiceAccount, ConfigMap, Secret, Role, RoleBinding, Deployment, Service, CRD, Widget.
    assert.equal(result.progress.objects.restored, 10, JSON.stringify(result.progress.objects));
    assert.equal(result.progress.readiness.ready, 1);
    for (const p of [
      `/api/v1/namespaces/${appNs}/serviceaccounts/web`, `/api/v1/namespaces/${appNs}/configmaps/web-config`, `/api/v1/namespaces/${appNs}/secrets/web-secret`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/roles/config-reader`, `/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/rolebindings/web-config-reader`,
      `/apis/apps/v1/namespaces/${appNs}/deployments/web`, `/api/v1/namespaces/${appNs}/services/web`,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`, `/apis/${group}/v1/namespaces/${appNs}/widgets/one`,
    ]) {
      const obj = await adminTarget.get<RawObject>(p);
      assert.equal(obj.metadata?.labels?.[MIGRATION_ID_LABEL], migrationId, p);
    }
    const secret = await adminTarget.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${appNs}/secrets/web-secret`);
    assert.equal(Buffer.from(secret.data.password!, 'base64').toString(), `pw-${run}`);
    // The Role that needed `escalate` grants exactly what it did in the source.
    const role = await adminTarget.get<{ rules: unknown[] }>(`/apis/rbac.authorization.k8s.io/v1/namespaces/${appNs}/roles/config-reader`);
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('restores the backup over what exists: the server-side apply dry run (skip) and the apply (update)', async () => {
    const skip = await (await startMigration(client, taskQueue, `${run}-skip`, request({ task: 'restore', backupId: `${run}-app` }))).result();
    assert.equal(skip.status, 'Completed', errorsOf(skip));
    assert.equal(skip.progress.objects.failed, 0, errorsOf(skip));
    assert.equal(skip.progress.objects.skipped, 10, JSON.stringify(skip.progress.objects));
    assert.equal(skip.progress.objects.differing, 0, JSON.stringify(skip.progress));

    const update = await (await startMigration(client, taskQueue, `${run}-update`, request({
      task: 'restore', backupId: `${run}-app`, existingObjects: 'update',
    }))).result();
    assert.equal(update.status, 'Completed', errorsOf(update));
    assert.equal(update.progress.objects.failed, 0, errorsOf(update));
    assert.equal(update.progress.objects.updated, 10, JSON.stringify(update.progress.objects));
  });

  it('sets route weights in the target through both in-cluster routers (gateway-api, ingress-nginx), with Roles that name only the routes objects', async (t) => {
    const gw = `/apis/gateway.networking.k8s.io/v1/namespaces/${appNs}/httproutes`;
    const ing = `/apis/networking.k8s.io/v1/namespaces/${appNs}/ingresses`;
    for (const name of ['web', 'other']) {
      await adminTarget.request('POST', gw, {
        body: {
          apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name },
          spec: { rules: [{ backendRefs: [{ name: 'web-source', port: 80, weight: 100 }, { name: 'web', port: 80, weight: 0 }] }] },
        },
      });
      await adminTarget.request('POST', ing, {
        body: {
          metadata: { name: `${name}-canary`, annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: '0' } },
          spec: { rules: [{ host: `${name}.example`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
        },
      });
    }
    // What `kubeferry rbac router` prints for the request's two routes, applied in the cluster they name.
    const routes = parseMigrationRequest(request({
      routes: [
        { name: 'web', router: 'gateway-api', cluster: 'target', namespace: appNs, httpRoute: 'web', sourceBackend: 'web-source', targetBackend: 'web', workloads: [`${appNs}/web`] },
        { name: 'web-nginx', router: 'ingress-nginx', cluster: 'target', namespace: appNs, canaryIngress: 'web-canary', workloads: [`${appNs}/web`] },
      ] as RouteSpec[],
    })).routes;
    // An identity of its own for the routers (a second cluster entry in the worker config, for the same
    // API server): the restorer's server-side apply rights on Ingresses and HTTPRoutes are not the routers'.
    await applyObjects(adminTarget, [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: routerIdentity, namespace: IDENTITY_NAMESPACE } } as RawObject]);
    const grants = routerRbac(routes, { namespace: IDENTITY_NAMESPACE, name: routerIdentity });
    assert.deepEqual(grants.map((g) => g.cluster), ['target']);
    await applyObjects(adminTarget, grants[0]!.objects as unknown as RawObject[]);
    const routerId = tokenIdentity(env.TARGET_KUBECONFIG!, await serviceAccountToken(adminTarget, 3600, routerIdentity), path.join(tmp, 'router.kubeconfig'));
    const routerAs = new KubeRest(kubeconfigFrom(routerId.kubeconfig));
    t.after(() => routerAs.close());
    await waitAllowed(routerAs, [
      { verb: 'update', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: appNs, name: 'web' },
      { verb: 'patch', group: 'networking.k8s.io', resource: 'ingresses', namespace: appNs, name: 'web-canary' },
    ]);
    const gateway = new GatewayApiRouter(routerAs, { namespace: appNs, httpRoute: 'web', sourceBackend: { name: 'web-source' }, targetBackend: { name: 'web' } });
    assert.equal(await gateway.setWeight(25), 25);
    const nginx = new IngressNginxRouter(routerAs, { namespace: appNs, canaryIngress: 'web-canary' });
    assert.equal(await nginx.setWeight(40), 40);
    // The objects of the same namespace that no route names stay out of reach.
    const other = await adminTarget.get<RawObject>(`${gw}/other`);
    const routerUser = `system:serviceaccount:${IDENTITY_NAMESPACE}:${routerIdentity}`;
    await refused(t, routerId, 'update an HTTPRoute no route names', 'PUT', `${gw}/other`, { body: other }, routerUser);
    await refused(t, routerId, 'patch an Ingress no route names', 'PATCH', `${ing}/other-canary`, {
      body: { metadata: { annotations: { [CANARY_WEIGHT]: '100' } } }, contentType: 'application/merge-patch+json',
    }, routerUser);
    await refused(t, routerId, 'list the HTTPRoutes of the namespace', 'GET', gw, {}, routerUser);
    const otherIngress = await adminTarget.get<RawObject>(`${ing}/other-canary`);
    assert.equal(otherIngress.metadata?.annotations?.[CANARY_WEIGHT], '0');
  });

  it('rolls back another migration with cleanup: deletes what it created, its CRD included, and nothing else', async () => {
    const handle = await startMigration(client, taskQueue, `${run}-rb`, request({ namespaces: { include: [rollbackNs] }, readiness: { pollInterval: '1s', timeout: '10m' } }));
    await waitFor('the migration to wait in readiness', async () => ((await handle.query<{ phase: string }>('progress')).phase === 'readiness' ? true : undefined), 120_000);
    assert.equal(await exists(adminTarget, `/apis/${group}/v1/namespaces/${rollbackNs}/gizmos/one`), true);
    await handle.signal('rollback', { reason: 'rbac test', cleanup: true });
    const result = await handle.result();
    assert.equal(result.status, 'RolledBack', errorsOf(result));
    assert.equal(result.progress.cleanup?.failed, 0, errorsOf(result));
    assert.equal(result.progress.cleanup?.deleted, 10, JSON.stringify(result.progress.cleanup));
    await waitFor('the rolled-back namespace to go', async () => ((await exists(adminTarget, `/api/v1/namespaces/${rollbackNs}`)) ? undefined : true), 120_000);
    assert.equal(await exists(adminTarget, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${group}`), false);
    // The first migration's objects stay.
    assert.equal(await exists(adminTarget, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`), true);
    assert.equal(await exists(adminTarget, `/apis/apps/v1/namespaces/${appNs}/deployments/web`), true);
  });

  it('plans: every object of the app is found in the target, nothing is written', async () => {
    const result = await (await startMigration(client, taskQueue, `${run}-plan`, request({ task: 'plan' }))).result();
    assert.equal(result.status, 'Planned', errorsOf(result));
    const plan = result.plan!;
    assert.equal(plan.objects, 10);
    assert.equal(plan.conflicts, 10, JSON.stringify(plan.conflictExamples));
    assert.deepEqual(plan.notServedByTarget, []);
  });

  it('the source identity may not write, exec, read logs, proxy, escalate or impersonate', async (t) => {
    const ns = `/api/v1/namespaces/${appNs}`;
    const pod = await waitFor('a pod of the app in the source', async () =>
      (await adminSource.get<{ items: RawObject[] }>(`${ns}/pods`, { query: { labelSelector: 'app=web' } })).items[0]?.metadata?.name);
    const node = (await adminSource.get<{ items: RawObject[] }>('/api/v1/nodes', { query: { limit: 1 } })).items[0]!.metadata!.name!;
    const cm = `${ns}/configmaps/web-config`;
    const current = await adminSource.get<RawObject>(cm);

    await refused(t, sourceId, 'create a ConfigMap', 'POST', `${ns}/configmaps`, { body: { metadata: { name: 'nope' }, data: {} } });
    await refused(t, sourceId, 'update a ConfigMap', 'PUT', cm, { body: { ...current, data: { MODE: 'changed' } } });
    await refused(t, sourceId, 'patch a ConfigMap', 'PATCH', cm, { body: { data: { MODE: 'changed' } }, contentType: 'application/merge-patch+json' });
    await refused(t, sourceId, 'delete a ConfigMap', 'DELETE', cm);
    await refused(t, sourceId, 'delete a Namespace', 'DELETE', ns);
    await refused(t, sourceId, 'scale a Deployment', 'PATCH', `/apis/apps/v1/namespaces/${appNs}/deployments/web/scale`, {
      body: { spec: { replicas: 0 } }, contentType: 'application/merge-patch+json',
    });
    await refused(t, sourceId, 'watch Secrets', 'GET', `${ns}/secrets?watch=true&timeoutSeconds=1`);
    await refused(t, sourceId, 'list the Secrets of every namespace', 'GET', '/api/v1/secrets');
    await refused(t, sourceId, 'list the Secrets of kube-system (bootstrap tokens)', 'GET', '/api/v1/namespaces/kube-system/secrets');
    await refused(t, sourceId, 'list the Secrets of a namespace no request names', 'GET', '/api/v1/namespaces/default/secrets');
    await refused(t, sourceId, 'exec into a pod (POST)', 'POST', `${ns}/pods/${pod}/exec?command=id&stdout=true`);
    await refused(t, sourceId, 'exec into a pod (GET, as a websocket would)', 'GET', `${ns}/pods/${pod}/exec?command=id&stdout=true`);
    await refused(t, sourceId, "read a pod's log", 'GET', `${ns}/pods/${pod}/log`);
    await refused(t, sourceId, 'proxy to a node (kubelet API)', 'GET', `/api/v1/nodes/${node}/proxy/pods`);
    await refused(t, sourceId, 'proxy to a Service', 'GET', `${ns}/services/web/proxy/`);
    await refused(t, sourceId, 'mint a ServiceAccount token', 'POST', `${ns}/serviceaccounts/web/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    });
    await refused(t, sourceId, 'bind itself to cluster-admin', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: {
        metadata: { name: `${run}-escalate` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: IDENTITY_NAME, namespace: IDENTITY_NAMESPACE }],
      },
    });
    await refused(t, sourceId, 'impersonate a user', 'GET', '/api/v1/namespaces', { headers: { 'Impersonate-User': 'system:admin' } });
    await refused(t, sourceId, 'impersonate system:masters', 'GET', '/api/v1/namespaces', {
      headers: { 'Impersonate-User': user, 'Impersonate-Group': 'system:masters' },
    });
    await refused(t, sourceId, 'read /metrics', 'GET', '/metrics');
    // What every authenticated user may do, and the job needs: discovery and the version.
    for (const p of ['/api', '/apis', '/version']) assert.equal((await requestAs(sourceId, 'GET', p)).status, 200, p);
    assert.equal(await exists(adminSource, `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${run}-escalate`), false);
    assert.equal((await adminSource.get<RawObject & { data: Record<string, string> }>(cm)).data.MODE, 'least-privilege');
  });

  it('the target identity may not touch nodes, exec, read logs, mint tokens, approve CSRs, add webhooks or impersonate', async (t) => {
    const ns = `/api/v1/namespaces/${appNs}`;
    const pod = await waitFor('a pod of the app in the target', async () =>
      (await adminTarget.get<{ items: RawObject[] }>(`${ns}/pods`, { query: { labelSelector: 'app=web' } })).items[0]?.metadata?.name);
    const node = (await adminTarget.get<{ items: RawObject[] }>('/api/v1/nodes', { query: { limit: 1 } })).items[0]!.metadata!.name!;

    await refused(t, targetId, 'delete a Node', 'DELETE', `/api/v1/nodes/${node}`);
    await refused(t, targetId, 'cordon a Node', 'PATCH', `/api/v1/nodes/${node}`, { body: { spec: { unschedulable: true } }, contentType: 'application/merge-patch+json' });
    await refused(t, targetId, 'proxy to a node (kubelet API)', 'GET', `/api/v1/nodes/${node}/proxy/pods`);
    await refused(t, targetId, 'exec into a pod (POST)', 'POST', `${ns}/pods/${pod}/exec?command=id&stdout=true`);
    await refused(t, targetId, 'exec into a pod (GET, as a websocket would)', 'GET', `${ns}/pods/${pod}/exec?command=id&stdout=true`);
    await refused(t, targetId, "read a pod's log", 'GET', `${ns}/pods/${pod}/log`);
    await refused(t, targetId, 'evict a pod', 'POST', `${ns}/pods/${pod}/eviction`, {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: appNs } },
    });
    await refused(t, targetId, 'mint a token of a restored ServiceAccount', 'POST', `${ns}/serviceaccounts/web/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    });
    await refused(t, targetId, 'update a Deployment (only server-side apply is granted)', 'PUT', `/apis/apps/v1/namespaces/${appNs}/deployments/web`, {
      body: await adminTarget.get(`/apis/apps/v1/namespaces/${appNs}/deployments/web`),
    });
    await refused(t, targetId, 'delete all ConfigMaps of kube-system at once', 'DELETE', '/api/v1/namespaces/kube-system/configmaps');
    await refused(t, targetId, 'watch Secrets', 'GET', '/api/v1/secrets?watch=true&timeoutSeconds=1');
    await refused(t, targetId, 'create a PersistentVolume', 'POST', '/api/v1/persistentvolumes', {
      body: { metadata: { name: `${run}-pv` }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/' } } },
    });
    await refused(t, targetId, 'add a mutating webhook', 'POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
      body: { metadata: { name: `${run}-hook` }, webhooks: [] },
    });
    // A real CSR, created by the administrator: the target identity may not approve it.
    await adminTarget.request('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
      body: { metadata: { name: csrName }, spec: { request: Buffer.from(csrPem()).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] } },
    });
    const csr = await adminTarget.get<RawObject>(`/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrName}`);
    await refused(t, targetId, 'approve a CSR', 'PUT', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrName}/approval`, {
      body: { ...csr, status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Test', message: 'no' }] } },
    });
    // What RBAC cannot refuse, the admission policy of target-restorer.yaml does.
    const policyDenied = async (what: string, p: string, body: object, message: RegExp) => {
      const answer = await requestAs(targetId, 'POST', p, { body });
      assert.equal(answer.status, 403, `${what} answered ${answer.status}: ${answer.message}`);
      assert.match(answer.message, message, what);
      t.diagnostic(`403 ${what}: ${answer.message}`);
    };
    await policyDenied('mint a token through a service-account-token Secret', '/api/v1/namespaces/kube-system/secrets', {
      metadata: { name: `${run}-minted`, annotations: { 'kubernetes.io/service-account.name': 'default' } }, type: 'kubernetes.io/service-account-token',
    }, /may not create service-account token Secrets/);
    const binding = (name: string, role: string, subject: object) => ({
      metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [subject],
    });
    await policyDenied('bind itself (to view)', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      binding(`${run}-self`, 'view', { kind: 'ServiceAccount', name: IDENTITY_NAME, namespace: IDENTITY_NAMESPACE }), /may not bind itself/);
    await policyDenied('bind a group to cluster-admin', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      binding(`${run}-admins`, 'cluster-admin', { kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' }), /may not bind anyone cluster-wide to cluster-admin, admin or edit/);
    // What it can do, as restoring an application's RBAC needs: bind another ServiceAccount to a ClusterRole it holds.
    const allowed = await requestAs(targetId, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      { body: binding(`${run}-viewer`, 'view', { kind: 'ServiceAccount', name: 'web', namespace: appNs }) });
    assert.equal(allowed.status, 201, allowed.message);
    await adminTarget.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${run}-viewer`);
    await refused(t, targetId, 'impersonate a user', 'GET', '/api/v1/namespaces', { headers: { 'Impersonate-User': 'system:admin' } });
    await refused(t, targetId, 'impersonate a ServiceAccount', 'GET', '/api/v1/namespaces', { headers: { 'Impersonate-User': 'system:serviceaccount:kube-system:default' } });
    await refused(t, targetId, 'read /metrics', 'GET', '/metrics');
    assert.equal(await exists(adminTarget, `/api/v1/nodes/${node}`), true);
    const approved = await adminTarget.get<{ status?: { conditions?: unknown[] } }>(`/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrName}`);
    assert.equal(approved.status?.conditions, undefined);
  });
});

/** A PEM certificate signing request with a fresh key, made by openssl. */
function csrPem(): string {
  return execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null',
    '-subj', `/CN=${run}`, '-outform', 'PEM'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
