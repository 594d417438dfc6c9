// The migration engine on the real local stack: discovery of every served type (a CRD and its custom
// resources included), cluster-scoped objects brought in because the selection needs them, owner
// references pointed at the new uids, a reference cycle broken and reported, readiness of every workload
// kind, the plan dry run, a type the target does not serve refused before any write, and the catalogue.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RawObject, StoredPlan } from '../../src/store/backup-format.js';
import type { KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { describeBackup, listBackups, listMigrations, startMigration } from '../../src/client.js';
import type { WorkerConfig } from '../../src/config/worker-config.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { kubeconfigFrom, stackEnv, startStackWorker, waitFor, type StackWorker } from '../support/stack.js';

const env = stackEnv();
const run = `en-${randomBytes(3).toString('hex')}`;
const ns = `${run}-app`;
const gadgetNs = `${run}-gad`;
const externalNs = `${run}-ext`; // Services with and without a selector, and the Endpoints of each
const group = `${run}.kubeferry.test`;
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };

let stack: StackWorker;
let config: WorkerConfig;
let source: KubeRest;
let target: KubeRest;
let client: Client;
const kubeconfig = kubeconfigFrom;

const crd = (plural: string, kind: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.${group}` },
  spec: {
    group, scope: 'Namespaced', names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
    versions: [{
      name: 'v1', served: true, storage: true, subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    }],
  },
});

async function create(rest: KubeRest, path: string, body: object): Promise<RawObject> {
  return rest.request<RawObject>('POST', path, { body });
}


const established = (rest: KubeRest, name: string) => waitFor(`CRD ${name} Established`, async () => {
  const c = await rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
  return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') ? true : undefined;
});

const readyCondition = { type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' };

before(async () => {
  stack = await startStackWorker(run);
  ({ config, source, target, client } = stack);

  const apiNs = `/api/v1/namespaces/${ns}`;
  await create(source, '/api/v1/namespaces', { metadata: { name: ns } });
  await create(source, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('widgets', 'Widget'));
  await established(source, `widgets.${group}`);
  const widget = await create(source, `/apis/${group}/v1/namespaces/${ns}/widgets`, { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } });
  // The custom resource reports Ready, as its operator would: that makes it a workload.
  await source.request('PUT', `/apis/${group}/v1/namespaces/${ns}/widgets/w1/status`, { body: { ...widget, status: { conditions: [readyCondition] } } });
  await create(source, `${apiNs}/configmaps`, {
    metadata: { name: 'w1-config', ownerReferences: [{ apiVersion: `${group}/v1`, kind: 'Widget', name: 'w1', uid: widget.metadata!.uid }] },
    data: { size: '3' },
  });
  await create(source, '/apis/scheduling.k8s.io/v1/priorityclasses', { metadata: { name: `${run}-high` }, value: 1000 });
  await create(source, `${apiNs}/serviceaccounts`, { metadata: { name: 'app' } });
  await create(source, `${apiNs}/secrets`, { metadata: { name: 'db-pass' }, stringData: { password: `s3cr3t-db-${run}` } });
  await create(source, '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: `${run}-reader` }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] });
  await create(source, `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name: 'app-reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${run}-reader` },
    subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: ns }],
  });
  await create(source, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: `${run}-app-view` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: ns }],
  });
  const podSpec = (app: string) => ({
    metadata: { labels: { app } },
    spec: { serviceAccountName: 'app', containers: [{ name: app, image: `registry.example/${app}:1`, envFrom: [{ configMapRef: { name: 'api-config' } }] }] },
  });
  const api = await create(source, `/apis/apps/v1/namespaces/${ns}/deployments`, {
    metadata: { name: 'api', labels: { app: 'api' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'api' } }, template: { ...podSpec('api'), spec: { ...podSpec('api').spec, priorityClassName: `${run}-high` } } },
  });
  // The Deployment reads this ConfigMap, and the ConfigMap is owned by the Deployment: a reference cycle.
  await create(source, `${apiNs}/configmaps`, {
    metadata: { name: 'api-config', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: api.metadata!.uid }] },
    data: { MODE: 'fast' },
  });
  await create(source, `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, { metadata: { name: 'api' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'api' } } } });
  await create(source, `/apis/apps/v1/namespaces/${ns}/statefulsets`, {
    metadata: { name: 'db' }, spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: podSpec('db') },
  });
  await create(source, `/apis/apps/v1/namespaces/${ns}/daemonsets`, {
    metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: podSpec('agent') },
  });
  await create(source, `/apis/batch/v1/namespaces/${ns}/jobs`, {
    metadata: { name: 'once' }, spec: { template: { ...podSpec('once'), spec: { ...podSpec('once').spec, restartPolicy: 'Never' } } },
  });
  await create(source, `${apiNs}/services`, { metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } });
  // Wait until the source's controllers made the ReplicaSet and the pods (the backup must leave them out).
  await waitFor('api pods in the source', async () => {
    const pods = await source.get<{ items: unknown[] }>(`${apiNs}/pods`, { query: { labelSelector: 'app=api' } });
    return pods.items.length >= 2 ? true : undefined;
  });
});

after(async () => {
  const kcs = [kubeconfig(env.SOURCE_KUBECONFIG!), kubeconfig(env.TARGET_KUBECONFIG!)];
  for (const kc of kcs) await deleteNamespaces(kc, [ns, gadgetNs, externalNs]).catch(() => undefined);
  for (const rest of [source, target]) {
    for (const path of [
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${group}`,
      `/apis/scheduling.k8s.io/v1/priorityclasses/${run}-high`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${run}-reader`,
      `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${run}-app-view`,
    ]) await rest?.request('DELETE', path).catch(() => undefined);
  }
  await stack?.stop();
});

const request = (extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput => ({
  source: { cluster: 'source' },
  target: { cluster: 'target' },
  storage,
  namespaces: { include: [ns] },
  readiness: { pollInterval: '1s', timeout: '2m' },
  ...extra,
});

const exists = async (rest: KubeRest, path: string) => rest.get(path).then(() => true, (err: { code?: number }) => {
  if (err.code === 404) return false;
  throw err;
});

describe('migration engine on the local stack', () => {
  it('plans without writing anything: waves from the objects, what is left out and why, no conflicts', async () => {
    const result = await (await startMigration(client, config.temporal.taskQueue, `${run}-plan`, request({ task: 'plan' }))).result();
    assert.equal(result.status, 'Planned');
    const plan = result.plan!;
    assert.equal(plan.waves[0]!.kinds.join(), `CustomResourceDefinition`);
    const reasons = plan.leftOut.map((g) => g.reason);
    for (const r of ['owned by a copied ReplicaSet (its controller recreates it in the target)', 'owned by a copied Deployment (its controller recreates it in the target)',
      'default ServiceAccount (every namespace gets its own)', 'kube-root-ca.crt (published by the target cluster itself)', 'bootstrap RBAC of the API server (the target has its own)']) {
      assert.ok(reasons.includes(r), `"${r}" missing from ${JSON.stringify(reasons)}`);
    }
    assert.ok(plan.leftOutTypes.some((t) => t.type === 'events' && /history/.test(t.reason)), JSON.stringify(plan.leftOutTypes));
    assert.deepEqual(plan.brokenCycles, [{ from: `Deployment/${ns}/api`, to: `ConfigMap/${ns}/api-config` }]);
    assert.deepEqual(plan.notServedByTarget, []);
    assert.equal(plan.conflicts, 0);
    // Five workloads: Deployment, StatefulSet, DaemonSet, Job, and the custom resource that reports Ready.
    assert.equal(plan.workloads, 5);
    assert.equal(await exists(target, `/api/v1/namespaces/${ns}`), false, 'a plan wrote to the target');
    assert.equal((await new ObjectStore(config.storage).list(storage.bucket, `${storage.prefix}/backups/${run}-plan/`)).length, 0, 'a plan wrote to S3');
  });

  it('migrates a CRD with its custom resources, the cluster-scoped objects the selection needs, and re-links owners', async () => {
    const migrationId = `${run}-all`;
    const handle = await startMigration(client, config.temporal.taskQueue, migrationId, request());
    // Nothing reconciles the Widget in the target: play its operator once it exists there.
    const widgetPath = `/apis/${group}/v1/namespaces/${ns}/widgets/w1`;
    const operator = waitFor('the Widget in the target', async () => {
      const w = await target.get<RawObject>(widgetPath);
      await target.request('PUT', `${widgetPath}/status`, { body: { ...w, status: { conditions: [readyCondition] } } });
      return true;
    }, 120_000);
    const result = await handle.result();
    await operator;
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.deepEqual(result.progress.readiness, { ready: 5, total: 5, replicas: { ready: 7, total: 7 }, percent: 100 });
    assert.equal(result.progress.objects.failed, 0);
    // What was left out, and the broken cycle, are in the progress the operator sees.
    assert.ok((result.progress.leftOut?.['owned by a copied ReplicaSet (its controller recreates it in the target)'] ?? 0) >= 2, JSON.stringify(result.progress.leftOut));
    assert.deepEqual(result.progress.plan, { brokenCycles: 1, outside: result.progress.plan?.outside });

    // Namespaced objects: the same names on both sides (default ServiceAccount and kube-root-ca.crt are the
    // target's own, made by its controllers).
    const names = async (rest: KubeRest, path: string) => (await rest.get<{ items: RawObject[] }>(path)).items.map((o) => o.metadata!.name!).sort();
    for (const path of [`/api/v1/namespaces/${ns}/configmaps`, `/api/v1/namespaces/${ns}/serviceaccounts`, `/api/v1/namespaces/${ns}/secrets`,
      `/apis/apps/v1/namespaces/${ns}/deployments`, `/apis/apps/v1/namespaces/${ns}/statefulsets`, `/apis/apps/v1/namespaces/${ns}/daemonsets`,
      `/apis/batch/v1/namespaces/${ns}/jobs`, `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, `/apis/${group}/v1/namespaces/${ns}/widgets`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, `/api/v1/namespaces/${ns}/services`]) {
      assert.deepEqual(await names(target, path), await names(source, path), path);
    }
    // Cluster-scoped objects come only because the selection needs them, and carry the migration id.
    for (const path of [`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`, `/apis/scheduling.k8s.io/v1/priorityclasses/${run}-high`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${run}-reader`, `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${run}-app-view`]) {
      const obj = await target.get<RawObject>(path);
      assert.equal(obj.metadata?.labels?.[MIGRATION_ID_LABEL], migrationId, path);
    }
    // The bootstrap ClusterRole the binding names was left alone.
    assert.equal((await target.get<RawObject>('/apis/rbac.authorization.k8s.io/v1/clusterroles/view')).metadata?.labels?.[MIGRATION_ID_LABEL], undefined);
    // Owner references point at the owners' new uids (a dangling one would get the object garbage-collected).
    const widget = await target.get<RawObject>(widgetPath);
    const deployment = await target.get<RawObject>(`/apis/apps/v1/namespaces/${ns}/deployments/api`);
    const owner = async (name: string) => (await target.get<RawObject>(`/api/v1/namespaces/${ns}/configmaps/${name}`)).metadata?.ownerReferences?.[0]?.uid;
    assert.equal(await owner('w1-config'), widget.metadata!.uid);
    assert.equal(await owner('api-config'), deployment.metadata!.uid);

    // The manifest and plan in S3 tell the same story.
    const store = new ObjectStore(config.storage);
    const manifest = JSON.parse((await store.get(storage.bucket, `${storage.prefix}/backups/${migrationId}/manifest.json`))!.toString());
    assert.equal(manifest.formatVersion, 3);
    assert.ok(manifest.types.some((t: { name: string; crd?: string }) => t.name === `widgets.${group}` && t.crd === `widgets.${group}`));
    const plan = JSON.parse((await store.get(storage.bucket, manifest.plan.key))!.toString()) as StoredPlan;
    assert.deepEqual(plan.brokenCycles, [{ from: `Deployment/${ns}/api`, to: `ConfigMap/${ns}/api-config` }]);
    const waveOf = (id: string) => plan.waves.findIndex((w) => w.includes(id));
    assert.equal(waveOf(`CustomResourceDefinition//widgets.${group}`), 0);
    assert.ok(waveOf(`Widget.${group}/${ns}/w1`) < waveOf(`ConfigMap/${ns}/w1-config`), 'the owner goes first');
    assert.ok(waveOf(`Deployment/${ns}/api`) < waveOf(`PodDisruptionBudget/${ns}/api`), 'a PDB waits for what it selects');
    assert.ok(waveOf(`ClusterRole//${run}-reader`) < waveOf(`RoleBinding/${ns}/app-reader`));

    // The migration is found through its typed search attributes.
    const found = await waitFor('the migration in visibility', async () => {
      const [m] = await listMigrations(client, `MigrationId = "${migrationId}" AND MigrationPhase = "completed"`);
      return m;
    });
    assert.deepEqual({ ...found, startTime: undefined }, {
      migrationId, status: 'COMPLETED', task: 'migrate', phase: 'completed', trafficWeight: 0, readyPercent: 100,
      sourceCluster: 'source', targetCluster: 'target', startTime: undefined,
    });

    // The backup can be listed and described afterwards, through the worker.
    const listed = await listBackups(client, config.temporal.taskQueue, storage);
    assert.deepEqual(listed.map((b) => [b.backupId, b.status]), [[migrationId, 'complete']]);
    const described = await describeBackup(client, config.temporal.taskQueue, storage, migrationId);
    assert.equal(described.objects, result.progress.objects.total);
    assert.equal(described.workloads, 5);
  });

  it('refuses, before writing anything, a backup holding a type the target does not serve', async () => {
    await create(source, '/api/v1/namespaces', { metadata: { name: gadgetNs } });
    await create(source, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd('gadgets', 'Gadget'));
    await established(source, `gadgets.${group}`);
    await create(source, `/apis/${group}/v1/namespaces/${gadgetNs}/gadgets`, { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'g1' } });
    await create(source, `/api/v1/namespaces/${gadgetNs}/configmaps`, { metadata: { name: 'plain' }, data: { a: 'b' } });
    // Leaving the CRDs out of the backup means the target has no way to serve Gadgets.
    const failed = (await startMigration(client, config.temporal.taskQueue, `${run}-gadgets`, request({
      namespaces: { include: [gadgetNs] }, resources: { exclude: ['customresourcedefinitions.apiextensions.k8s.io'] },
    }))).result();
    await assert.rejects(failed, (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause?.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.cause.type, 'TypeNotServed');
      assert.match(err.cause.cause.message, new RegExp(`does not serve 1 type\\(s\\).*gadgets\\.${group.replace(/\./g, '\\.')} \\(${group.replace(/\./g, '\\.')}/v1 Gadget\\)`));
      return true;
    });
    assert.equal(await exists(target, `/api/v1/namespaces/${gadgetNs}`), false, 'something was written before the check');
  });

  it('brings the Endpoints of a Service without a selector, which the target mirrors into EndpointSlices, and leaves those the controllers maintain', async () => {
    const api = `/api/v1/namespaces/${externalNs}`;
    await create(source, '/api/v1/namespaces', { metadata: { name: externalNs } });
    // A database outside the cluster, reached through a Service without a selector and Endpoints written by hand.
    await create(source, `${api}/services`, { metadata: { name: 'db' }, spec: { ports: [{ name: 'pg', port: 5432 }] } });
    await create(source, `${api}/endpoints`, { metadata: { name: 'db' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'pg', port: 5432 }] }] });
    await create(source, `${api}/services`, { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    type Slices = { items: { metadata: { labels?: Record<string, string> }; endpoints?: { addresses: string[] }[] }[] };
    const slicesOf = (rest: KubeRest, service: string) => rest.get<Slices>(`/apis/discovery.k8s.io/v1/namespaces/${externalNs}/endpointslices`, { query: { labelSelector: `kubernetes.io/service-name=${service}` } });
    // The source's controllers have written theirs: the web Service's Endpoints and slice, the db Endpoints' mirror.
    await waitFor('the controllers to maintain both Services in the source', async () =>
      ((await slicesOf(source, 'db')).items.length && (await slicesOf(source, 'web')).items.length && (await exists(source, `${api}/endpoints/web`))) || undefined);

    const result = await (await startMigration(client, stack.config.temporal.taskQueue, `${run}-ext`, request({ namespaces: { include: [externalNs] } }))).result();
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    // The Namespace, both Services and the db Endpoints; nothing the controllers write.
    assert.equal(result.progress.objects.restored, 4, JSON.stringify(result.progress));
    assert.ok(Object.keys(result.progress.leftOut ?? {}).some((r) => r.startsWith('Endpoints maintained by the endpoints controller')), JSON.stringify(result.progress.leftOut));
    assert.ok(Object.keys(result.progress.leftOut ?? {}).some((r) => r.startsWith("EndpointSlice maintained by the target's controllers")), JSON.stringify(result.progress.leftOut));
    const db = await target.get<RawObject & { subsets: { addresses: { ip: string }[] }[] }>(`${api}/endpoints/db`);
    assert.deepEqual(db.subsets.flatMap((s) => s.addresses.map((a) => a.ip)), ['192.0.2.10']);
    assert.equal(db.metadata?.labels?.[MIGRATION_ID_LABEL], `${run}-ext`);
    const mirrored = await waitFor("the target's mirror of the db Endpoints", async () => (await slicesOf(target, 'db')).items[0]);
    assert.equal(mirrored.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
    assert.deepEqual(mirrored.endpoints?.flatMap((e) => e.addresses), ['192.0.2.10']);
    // The web Service's Endpoints are the target's own controller's, not a copy.
    const web = await waitFor("the target's Endpoints of the web Service", () => target.get<RawObject>(`${api}/endpoints/web`));
    assert.equal(web.metadata?.labels?.['endpoints.kubernetes.io/managed-by'], 'endpoint-controller');
  });

  it('takes cluster-scoped objects as asked: all of the selected types (include), or none (exclude)', async () => {
    const plan = async (id: string, extra: Partial<MigrationRequestInput>) =>
      (await (await startMigration(client, config.temporal.taskQueue, `${run}-${id}`, request({ task: 'plan', ...extra }))).result()).plan!;
    const count = (p: Awaited<ReturnType<typeof plan>>, kind: string) => p.kinds.find((k) => k.kind === kind)?.count ?? 0;

    const none = await plan('plan-exclude', { clusterResources: 'exclude' });
    for (const kind of ['CustomResourceDefinition', 'PriorityClass', 'ClusterRole', 'ClusterRoleBinding']) assert.equal(count(none, kind), 0, kind);
    assert.equal(count(none, 'Namespace'), 1, 'the selected namespace always comes');
    assert.equal(count(none, `Widget.${group}`), 1);

    const all = await plan('plan-include', { clusterResources: 'include', resources: { include: ['priorityclasses', 'configmaps'] } });
    // Every PriorityClass of the source but the built-in ones, which are left out with their reason.
    const classes = (await source.get<{ items: RawObject[] }>('/apis/scheduling.k8s.io/v1/priorityclasses')).items.map((p) => p.metadata!.name!);
    assert.equal(count(all, 'PriorityClass'), classes.filter((n) => !n.startsWith('system-')).length);
    assert.ok(count(all, 'PriorityClass') >= 1);
    assert.equal(all.leftOut.find((g) => g.reason.startsWith('built-in PriorityClass'))?.count, classes.filter((n) => n.startsWith('system-')).length);
    assert.deepEqual(all.kinds.map((k) => k.kind).sort(), ['ConfigMap', 'Namespace', 'PriorityClass']);
  });

  it('rolls back with cleanup: deletes what this migration created, in reverse order, and nothing else', async () => {
    const moved = `${ns}-rb`;
    const migrationId = `${run}-rb`;
    // The earlier migration's backup, restored into another namespace; its custom resource never gets
    // Ready there (no operator), so the migration waits in readiness.
    const handle = await startMigration(client, config.temporal.taskQueue, migrationId, request({
      task: 'restore', backupId: `${run}-all`, namespaces: { include: [ns], mapping: [`${ns}:${moved}`] }, readiness: { pollInterval: '1s', timeout: '10m' },
    }));
    await waitFor('the restore to wait in readiness', async () => ((await handle.query<{ phase: string }>('progress')).phase === 'readiness' ? true : undefined));
    assert.equal(await exists(target, `/api/v1/namespaces/${moved}/configmaps/api-config`), true);
    await handle.signal('rollback', { reason: 'test', cleanup: true });
    const result = await handle.result();
    assert.equal(result.status, 'RolledBack');
    // Everything it created in the moved namespace (and the namespace itself) is deleted...
    assert.equal(result.progress.cleanup?.failed, 0);
    assert.ok((result.progress.cleanup?.deleted ?? 0) >= result.progress.objects.restored, JSON.stringify(result.progress.cleanup));
    await waitFor('the moved namespace to go', async () => ((await exists(target, `/api/v1/namespaces/${moved}`)) ? undefined : true), 120_000);
    // ...and nothing it did not create: the first migration's objects and its cluster-scoped ones stay.
    assert.equal(await exists(target, `/api/v1/namespaces/${ns}/configmaps/api-config`), true);
    assert.equal(await exists(target, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`), true);
    assert.equal(await exists(target, `/apis/rbac.authorization.k8s.io/v1/clusterroles/${run}-reader`), true);
  });
});
