// Every ended migration can be cleaned up, an id is never silently reused, status shows an ended
// migration whole, and promote --full moves all traffic at once, on the real stack and through the CLI
// where operators use it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION } from '../../src/objects/labels.js';
import { CleanupRefusedError, cleanupMigration, getProgress, MigrationIdTakenError, startMigration } from '../../src/client.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { namespaceGone } from '../support/faults.js';
import { labelledIn } from '../support/sweep.js';
import { failureOf, kubeconfigFrom, repoRoot, stackEnv, startStackWorker, waitFor, type StackWorker } from '../support/stack.js';

const env = stackEnv();
const run = `em-${randomBytes(3).toString('hex')}`;
const kept = `${run}-a`; // exists in the target before, with a ConfigMap of the same name as the source's
const fresh = `${run}-b`; // only in the source; its Deployment's pods cannot be scheduled
const done = `${run}-c`; // migrates completely
const promoted = `${run}-p`; // migrates with a route, promoted fully
const shared = `${run}-s`; // migrates completely; then others put objects in it, and a finalizer holds one of its objects
const copied = `${run}-l`; // migrates completely; then a migrated ConfigMap is copied, labels and all
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };
const haproxy = new HaproxyRouter({ socket: env.HAPROXY_ADMIN_SOCKET }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });
let stack: StackWorker;

interface Ran { code: number; stdout: string; stderr: string }

/** The CLI as a user runs it, on this test's task queue. */
function kubeferry(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin/kubeferry.js'), ...args], {
      env: { ...process.env, KUBEFERRY_CONFIG: env.KUBEFERRY_CONFIG, KUBEFERRY_TASK_QUEUE: `kubeferry-${run}`, NO_COLOR: '1' },
      timeout: 180_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

const deployment = (name: string, podSpec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: {
    replicas: 1, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], ...podSpec } },
  },
});

async function seedApp(rest: KubeRest, ns: string, podSpec: Record<string, unknown> = {}) {
  await rest.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await rest.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'shared' }, data: { from: 'source' } } });
  await rest.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'own' }, data: { from: 'source' } } });
  await rest.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment('web', podSpec) });
  await rest.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
}

const request = (namespaces: string[], extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput => ({
  source: { cluster: 'source' }, target: { cluster: 'target' }, storage,
  namespaces: { include: namespaces }, readiness: { pollInterval: '1s', timeout: '15s' }, ...extra,
});

/** Every object of every served type in the target that carries the migration's label. */
const labelledInTarget = (migrationId: string) => labelledIn(stack.target, migrationId);

type Meta = { metadata: { uid: string; resourceVersion: string } };
const identity = async (p: string) => {
  const o = await stack.target.get<Meta>(p);
  return { uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion };
};

before(async () => {
  stack = await startStackWorker(run);
  await seedApp(stack.source, kept);
  await seedApp(stack.source, fresh, { nodeSelector: { 'kubeferry.test/no-such-node': 'true' } });
  await seedApp(stack.source, done);
  await seedApp(stack.source, promoted);
  await seedApp(stack.source, shared);
  await seedApp(stack.source, copied);
  await stack.target.request('POST', '/api/v1/namespaces', { body: { metadata: { name: kept } } });
  await stack.target.request('POST', `/api/v1/namespaces/${kept}/configmaps`, { body: { metadata: { name: 'shared' }, data: { from: 'target' } } });
  await haproxy.setWeight(0);
});

after(async () => {
  await haproxy.setWeight(0).catch(() => undefined);
  await stack?.stop();
  for (const file of [env.SOURCE_KUBECONFIG!, env.TARGET_KUBECONFIG!]) await deleteNamespaces(kubeconfigFrom(file), [kept, fresh, done, promoted, shared, copied]);
});

describe('ended migrations', { concurrency: true }, () => {
  it('cleans up after a failed migration, leaving the target as it was; status shows it whole; the id is never reused', async () => {
    const id = `${run}-failed`;
    const before = { ns: await identity(`/api/v1/namespaces/${kept}`), shared: await identity(`/api/v1/namespaces/${kept}/configmaps/shared`) };
    const failure = await failureOf(startMigration(stack.client, stack.config.temporal.taskQueue, id, request([kept, fresh])).then((h) => h.result()));
    assert.equal(failure.type, 'ReadinessTimeout');
    assert.ok((await labelledInTarget(id)).length > 0, 'the failed migration created nothing to clean up');

    // status of the ended migration: the whole summary and what to do next.
    const status = await kubeferry('status', id, '-o', 'json');
    assert.equal(status.code, 1, status.stderr);
    const shown = JSON.parse(status.stdout) as { progress: { phase: string; objects: { restored: number; skipped: number } }; stillInTarget: number; next: string[]; failure: string };
    assert.equal(shown.progress.phase, 'failed');
    assert.ok(shown.progress.objects.restored > 0);
    assert.equal(shown.progress.objects.skipped, 2, 'the existing Namespace and ConfigMap were left as they were');
    assert.equal(shown.stillInTarget, shown.progress.objects.restored);
    assert.match(shown.failure, new RegExp(`${fresh}/web: pod web-[a-z0-9-]+ cannot be scheduled`));
    assert.ok(shown.next.some((c) => c.startsWith(`kubeferry cleanup ${id} `)), shown.next.join('\n'));
    const table = await kubeferry('status', id);
    assert.match(table.stdout, /in target +\d+ created by it and still there/);
    assert.match(table.stdout, new RegExp(`next\\n +kubeferry cleanup ${id}`));

    // A reused id: refused by the client, naming cleanup and a fresh id; started behind its back, refused by the worker.
    await assert.rejects(startMigration(stack.client, stack.config.temporal.taskQueue, id, request([kept, fresh])), (err: unknown) => {
      assert.ok(err instanceof MigrationIdTakenError);
      assert.match(err.message, new RegExp(`kubeferry cleanup ${id}'.*fresh id \\(for example ${id}-2\\)`));
      return true;
    });
    const cli = await kubeferry('start', '--id', id, '--source', 'source', '--target', 'target', '-n', kept, '--bucket', 'kubeferry', '--prefix', storage.prefix);
    assert.equal(cli.code, 3, cli.stderr);
    assert.match(cli.stderr, /is taken: its migration ended FAILED/);
    const raw = await stack.client.workflow.start('migrateCluster', { taskQueue: stack.config.temporal.taskQueue, workflowId: id, args: [request([kept, fresh])] });
    const reused = await failureOf(raw.result());
    assert.equal(reused.type, 'MigrationIdReused');
    assert.match(reused.message, /never restores an old snapshot as its own/);

    // cleanup: removes what the failed run created; what existed before stays exactly as it was.
    const cleaned = await kubeferry('cleanup', id, '-o', 'json');
    assert.equal(cleaned.code, 0, cleaned.stderr);
    const report = JSON.parse(cleaned.stdout) as { deleted: number; failed: number; removed: { kind: string; count: number }[] };
    assert.equal(report.failed, 0);
    assert.equal(report.deleted, shown.progress.objects.restored);
    assert.ok(report.removed.some((k) => k.kind === 'Namespace' && k.count === 1));
    await namespaceGone(stack.target, fresh);
    assert.deepEqual(await labelledInTarget(id), []);
    assert.deepEqual({ ns: await identity(`/api/v1/namespaces/${kept}`), shared: await identity(`/api/v1/namespaces/${kept}/configmaps/shared`) }, before);
    const left = await stack.target.get<{ items: { metadata: { name: string } }[] }>(`/api/v1/namespaces/${kept}/configmaps`);
    assert.deepEqual(left.items.map((c) => c.metadata.name).filter((n) => n !== 'kube-root-ca.crt'), ['shared']);
    const after = JSON.parse((await kubeferry('status', id, '-o', 'json')).stdout) as { stillInTarget: number; next: string[] };
    assert.equal(after.stillInTarget, 0);
    assert.ok(!after.next.some((c) => c.startsWith('kubeferry cleanup')), after.next.join('\n'));
  });

  it('refuses a reused id after a completed run, and cleans a completed migration up only when forced', async () => {
    const id = `${run}-done`;
    const handle = await startMigration(stack.client, stack.config.temporal.taskQueue, id, request([done]));
    const completed = await handle.result();
    assert.equal(completed.status, 'Completed');
    const firstRun = (await handle.describe()).runId;
    // Namespace, two ConfigMaps, Deployment, Service (and the Service's endpoints, which copy its labels).
    assert.equal(completed.progress.objects.restored, 5);
    await assert.rejects(startMigration(stack.client, stack.config.temporal.taskQueue, id, request([done])), (err: unknown) => {
      assert.ok(err instanceof MigrationIdTakenError);
      assert.match(err.message, /ended COMPLETED/);
      return true;
    });
    const raw = await stack.client.workflow.start('migrateCluster', { taskQueue: stack.config.temporal.taskQueue, workflowId: id, args: [request([done])] });
    assert.equal((await failureOf(raw.result())).type, 'MigrationIdReused');
    // The refused run took nothing for its own: every labelled object is still the first run's.
    const runs = new Set<string>();
    for (const o of (await stack.target.get<{ items: { metadata: { annotations?: Record<string, string> } }[] }>(`/api/v1/namespaces/${done}/configmaps`, { query: { labelSelector: `${MIGRATION_ID_LABEL}=${id}` } })).items) {
      runs.add(o.metadata.annotations?.[MIGRATION_RUN_ANNOTATION] ?? '(none)');
    }
    assert.equal(runs.size, 1);
    assert.deepEqual([...runs], [firstRun]);

    await assert.rejects(cleanupMigration(stack.client, stack.config.temporal.taskQueue, id), (err: unknown) => {
      assert.ok(err instanceof CleanupRefusedError);
      assert.match(err.message, /completed.*Pass --force/);
      return true;
    });
    const report = await cleanupMigration(stack.client, stack.config.temporal.taskQueue, id, { force: true });
    assert.equal(report.deleted, completed.progress.objects.restored);
    await namespaceGone(stack.target, done);
    assert.deepEqual(await labelledInTarget(id), []);
  });

  it('cleanup deletes only what the migration created: a namespace others have put objects in stays, named with them, and an object a finalizer holds is reported, not counted as deleted', async () => {
    const id = `${run}-shared`;
    const completed = await (await startMigration(stack.client, stack.config.temporal.taskQueue, id, request([shared]))).result();
    assert.equal(completed.status, 'Completed');
    // After the migration: a team adds its own ConfigMap to the namespace, and a controller the target
    // does not run puts a finalizer on one of the migrated ConfigMaps.
    await stack.target.request('POST', `/api/v1/namespaces/${shared}/configmaps`, { body: { metadata: { name: 'theirs' }, data: { owner: 'another team' } } });
    const migrated = (await stack.target.get<{ items: { metadata: { name: string } }[] }>(`/api/v1/namespaces/${shared}/configmaps`, { query: { labelSelector: `${MIGRATION_ID_LABEL}=${id}` } })).items[0]!.metadata.name;
    const held = `/api/v1/namespaces/${shared}/configmaps/${migrated}`;
    await stack.target.request('PATCH', held, { body: { metadata: { finalizers: ['example.com/hold'] } }, contentType: 'application/merge-patch+json' });
    const theirs = await identity(`/api/v1/namespaces/${shared}/configmaps/theirs`);

    const report = await cleanupMigration(stack.client, stack.config.temporal.taskQueue, id, { force: true }).catch((err: unknown) => err);
    // The held object fails the cleanup, saying what holds it; the namespace is kept, naming what it holds.
    const messages = (e: unknown): string => (e instanceof Error ? `${e.message} ${messages(e.cause)}` : '');
    const message = messages(report);
    assert.match(message, new RegExp(`ConfigMap ${shared}/${migrated}: still there, held by finalizer\\(s\\) example\\.com/hold`), message);
    assert.deepEqual(await identity(`/api/v1/namespaces/${shared}/configmaps/theirs`), theirs);
    const ns = await stack.target.get<{ metadata: { deletionTimestamp?: string } }>(`/api/v1/namespaces/${shared}`);
    assert.equal(ns.metadata.deletionTimestamp, undefined, 'the namespace holding their ConfigMap was deleted');
    const left = await labelledInTarget(id);
    assert.deepEqual(left.sort(), [`ConfigMap ${shared}/${migrated}`, `Namespace /${shared}`].sort());
    await stack.target.request('PATCH', held, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
  });

  it('cleanup deletes what the restore recorded creating, by uid: an object re-created from a saved copy, or copied under another name, labels and all, is kept and named, and so is the namespace holding it', async () => {
    const id = `${run}-copied`;
    const completed = await (await startMigration(stack.client, stack.config.temporal.taskQueue, id, request([copied]))).result();
    assert.equal(completed.status, 'Completed');
    const store = new ObjectStore(stack.config.storage);
    const records = await store.list(storage.bucket, `${storage.prefix}/backups/${id}/created/${id}/`);
    assert.ok(records.length > 0, 'the restore recorded what it created beside the backup');
    // Someone saves a migrated ConfigMap (kubectl get -o yaml), deletes it and applies the copy again; and
    // copies another under a new name. Both carry the migration's label and run annotation, but kubeferry
    // made neither.
    type Saved = { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; data: Record<string, string> };
    const saved = async (name: string) => stack.target.get<Saved>(`/api/v1/namespaces/${copied}/configmaps/${name}`);
    const again = async (name: string, from: Saved) => stack.target.request('POST', `/api/v1/namespaces/${copied}/configmaps`, {
      body: { metadata: { name, labels: from.metadata.labels, annotations: from.metadata.annotations }, data: from.data },
    });
    const shared = await saved('shared');
    assert.equal(shared.metadata.labels[MIGRATION_ID_LABEL], id);
    await stack.target.request('DELETE', `/api/v1/namespaces/${copied}/configmaps/shared`);
    await again('shared', shared);
    await again('own-copy', await saved('own'));
    const theirs = { recreated: await identity(`/api/v1/namespaces/${copied}/configmaps/shared`), copy: await identity(`/api/v1/namespaces/${copied}/configmaps/own-copy`) };

    const report = await cleanupMigration(stack.client, stack.config.temporal.taskQueue, id, { force: true });
    assert.equal(report.failed, 0, report.errors.join('; '));
    assert.equal(report.deleted, completed.progress.objects.restored - 2, 'everything the restore created but the re-created ConfigMap and the namespace');
    const examples = (report.keptExamples ?? []).join('\n');
    assert.match(examples, new RegExp(`ConfigMap ${copied}/shared \\(replaced by another object of that name since the migration created it\\)`), examples);
    assert.match(examples, new RegExp(`Namespace ${copied} \\(it holds objects the migration did not create: .*ConfigMap ${copied}/own-copy`), examples);
    assert.deepEqual({ recreated: await identity(`/api/v1/namespaces/${copied}/configmaps/shared`), copy: await identity(`/api/v1/namespaces/${copied}/configmaps/own-copy`) }, theirs);
    assert.deepEqual((await labelledInTarget(id)).sort(), [`ConfigMap ${copied}/own-copy`, `ConfigMap ${copied}/shared`, `Namespace /${copied}`]);
  });

  it('promote --full moves every route to 100% target at once, skipping the steps left', async () => {
    const id = `${run}-promote`;
    const route = { name: 'web', router: 'haproxy' as const, backend: 'web', workloads: [`${promoted}/web`] };
    await startMigration(stack.client, stack.config.temporal.taskQueue, id, request([promoted], { routes: [route], traffic: { steps: [10, 50, 100], stepInterval: '10m' } }));
    await waitFor('the first step', async () => ((await getProgress(stack.client, id)).routes[0]?.weight === 10 ? true : undefined), 90_000);
    assert.equal(await haproxy.getWeight(), 10);
    const promotedNow = await kubeferry('promote', id, '--full');
    assert.equal(promotedNow.code, 0, promotedNow.stderr);
    const result = await stack.client.workflow.getHandle(id).result();
    assert.equal(result.status, 'Completed');
    assert.equal(result.progress.cutover?.by, 'promote');
    assert.equal(await haproxy.getWeight(), 100);
    const again = await kubeferry('promote', id, '--full');
    assert.equal(again.code, 6, 'promote of an ended migration is refused');
    await haproxy.setWeight(0);
  });
});
