// End to end on the real local stack: a sample app migrates from the source cluster to the target through
// S3 while HTTP load runs through HAProxy; every object lands, Deployments are Available in the target,
// the HAProxy target weight ends at 100, and not one request fails. Its web runs on the clusters' real
// nodes: every answer comes from a real pod, which names its cluster in the body.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { leaveOutReason } from '../../src/objects/leave-out.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { ObjectStore } from '../../src/store/object-store.js';
import type { BackupManifest } from '../../src/store/backup-format.js';
import { startMigration } from '../../src/client.js';
import { loadWorkerConfig, readEnvFile, type WorkerConfig } from '../../src/config/worker-config.js';
import { deleteNamespaces, seedSampleApp, waitAvailable, type SampleApp } from '../../src/dev/sample-app.js';
import { startLoad, waitServing } from '../../src/dev/load.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import type { MigrationProgress } from '../../src/workflows/messages.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import { createWorker } from '../../src/worker.js';
import { quietRuntime } from '../support/runtime.js';
import { kubeconfigFrom, stackEnv } from '../support/stack.js';

const env = stackEnv();
const run = `it-${randomBytes(3).toString('hex')}`;
const webRoute = { backend: 'web', sourceServer: 'source', targetServer: 'target' };

let config: WorkerConfig;
let source: k8s.KubeConfig;
let target: k8s.KubeConfig;
let worker: Worker;
let workerRun: Promise<void>;
let client: Client;
let app: SampleApp;
let router: HaproxyRouter;

before(async () => {
  quietRuntime();
  config = loadWorkerConfig(env.KUBEFERRY_CONFIG);
  config.temporal.taskQueue = `kubeferry-${run}`;
  source = kubeconfigFrom(env.SOURCE_KUBECONFIG!);
  target = kubeconfigFrom(env.TARGET_KUBECONFIG!);
  router = new HaproxyRouter({ socket: env.HAPROXY_ADMIN_SOCKET }, webRoute);
  await router.setWeight(0);
  worker = await createWorker(config, await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS }));
  workerRun = worker.run();
  client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
  // The basic profile (two namespaces, one Deployment each): the counts below are those of that app.
  app = await seedSampleApp(source, `${run}-`, { profile: 'basic' });
  await waitAvailable(source, app.workloads);
  // Available Deployments are not yet reachable: wait until the source edge sees their endpoints.
  await waitServing(`${env.HAPROXY_URL}/${app.webNamespace}/web/`);
});

after(async () => {
  await router?.setWeight(0).catch(() => undefined);
  worker?.shutdown();
  await workerRun;
  if (app) {
    await deleteNamespaces(source, app.namespaces);
    await deleteNamespaces(target, app.namespaces);
  }
});

/** Names of every object of the migrated types in the app's namespaces, as "Kind ns/name". */
async function inventory(kc: k8s.KubeConfig, namespaces: string[]): Promise<string[]> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const types: [string, string][] = [['v1', 'ConfigMap'], ['v1', 'Secret'], ['v1', 'ServiceAccount'], ['v1', 'Service'], ['apps/v1', 'Deployment']];
  const names: string[] = [];
  for (const ns of namespaces) {
    names.push(`Namespace ${ns}`);
    for (const [apiVersion, kind] of types) {
      const list = await objects.list(apiVersion, kind, ns);
      for (const item of list.items) {
        if (leaveOutReason({ ...item, kind } as never)) continue;
        names.push(`${kind} ${ns}/${item.metadata!.name}`);
      }
    }
  }
  return names.sort();
}

/** Every string and decoded payload of a history, as one text to search. */
function historyText(history: unknown): string {
  const parts: string[] = [];
  const walk = (x: unknown): void => {
    if (x instanceof Uint8Array) parts.push(Buffer.from(x).toString('utf8'));
    else if (typeof x === 'string') parts.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(history);
  return parts.join('\n');
}

/** Migrates this run's namespaces, with the web route on HAProxy, in steps of 20, 50, 100 %. */
function requestFor(stepInterval: string): MigrationRequestInput {
  return {
    source: { cluster: 'source' },
    target: { cluster: 'target' },
    storage: { bucket: 'kubeferry', prefix: `test/${run}` },
    namespaces: { include: [`${run}-*`] },
    routes: [{ name: 'web', router: 'haproxy', ...webRoute, workloads: [`${app.webNamespace}/web`] }],
    traffic: { steps: [20, 50, 100], stepInterval },
    readiness: { pollInterval: '1s', timeout: '2m' },
  };
}

describe('hot migration on the local stack', () => {
  it('migrates a sample app under HTTP load through HAProxy without a failed request, even when a target pod is deleted mid-step', async () => {
    const migrationId = `${run}-migrate`;
    const request = requestFor('2s');
    const core = target.makeApiClient(k8s.CoreV1Api);
    const webPods = async () => (await core.listNamespacedPod({ namespace: app.webNamespace, labelSelector: 'app=web' })).items;
    // While the route is at 50 %, one of the target's web pods is deleted: its Deployment replaces it.
    let deletion: Promise<string> | undefined;
    const deleteOneTargetPod = async () => {
      const pod = (await webPods()).find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      assert.ok(pod, 'no ready web pod in the target at 50 %');
      await core.deleteNamespacedPod({ namespace: app.webNamespace, name: pod.metadata!.name! });
      return pod.metadata!.name!;
    };

    const load = startLoad(`${env.HAPROXY_URL}/${app.webNamespace}/web/`, { concurrency: 4, maxSeconds: 180 });
    // The weight HAProxy applies, sampled every 50 ms on the same clock as the load's timeline.
    const weights: [number, number][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const w = await router.getWeight();
        if (weights.at(-1)?.[1] !== w) weights.push([Date.now() - load.startedAt, w]);
        if (w === 50 && !deletion) deletion = deleteOneTargetPod();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const handle = await startMigration(client, config.temporal.taskQueue, migrationId, request);
    const result = await handle.result();
    // Keep the load on for a moment at 100% target.
    await new Promise((r) => setTimeout(r, 1000));
    sampling = false;
    await sampler;
    const traffic = await load.stop();
    // At each step, the requests the target served are within 5 points of the weight HAProxy had.
    const end = Date.now() - load.startedAt;
    // HAProxy's two server weights are set one after the other: a sample may catch the moment between
    // (20/(100+20) = 17 %, always between the old and the new weight); the steps are the weights that held.
    const samples = weights.map(([at, w], i) => ({ from: at + 150, to: (weights[i + 1]?.[0] ?? end) - 100, weight: w }));
    const windows = samples.filter((x) => x.to - x.from >= 300);
    assert.deepEqual(windows.map((x) => x.weight), [0, 20, 50, 100]);
    samples.forEach((x, i) => {
      const [before, after] = [samples[i - 1]?.weight ?? x.weight, samples[i + 1]?.weight ?? x.weight];
      assert.ok(x.weight >= Math.min(before, after) && x.weight <= Math.max(before, after) || windows.includes(x), `a weight nobody asked for: ${JSON.stringify(weights)}`);
    });
    for (const { from, to, weight } of windows) {
      const answers = traffic.timeline.filter(([t]) => t >= from && t < to);
      const share = (100 * answers.filter(([, c]) => c === 'target').length) / answers.length;
      assert.ok(answers.length >= 50, `only ${answers.length} requests at ${weight}%`);
      assert.ok(Math.abs(share - weight) <= 5, `at ${weight}% the target served ${share.toFixed(1)}% of ${answers.length} requests`);
      console.log(`split at ${weight}%: target served ${share.toFixed(1)}% of ${answers.length} requests`);
    }

    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    // The Web UI's one-line summary of the execution.
    assert.match((await (await handle.describe()).staticSummary()) ?? '', /^migrate source -> target: namespaces it-.*, routes web$/);
    // Every selected object exists in the target, carrying the migration id.
    const expected = await inventory(source, app.namespaces);
    const actual = await inventory(target, app.namespaces);
    assert.deepEqual(actual, expected);
    assert.ok(expected.length >= 12, `the sample app is too small: ${expected.length}`);
    // The plan read from the objects: Namespaces; ServiceAccounts; ConfigMaps and Secrets; Deployments; Services.
    assert.deepEqual(result.progress.waves, { done: 5, total: 5 });
    const cm = await core.readNamespacedConfigMap({ namespace: app.webNamespace, name: 'web-config' });
    assert.equal(cm.metadata?.labels?.[MIGRATION_ID_LABEL], migrationId);
    // Deployments are Available in the target; the deleted pod was replaced by a new one, on the real node.
    await waitAvailable(target, app.workloads, 30_000);
    assert.ok(deletion, 'the route never held 50 %, so no pod was deleted');
    const deleted = await deletion;
    const pods = (await webPods()).filter((p) => !p.metadata?.deletionTimestamp);
    assert.equal(pods.length, 3, `web pods in the target: ${pods.map((p) => p.metadata?.name).join(', ')}`);
    assert.ok(!pods.some((p) => p.metadata?.name === deleted), `the deleted pod ${deleted} is still there`);
    assert.deepEqual([...new Set(pods.map((p) => p.spec?.nodeName))], [env.TARGET_REAL_NODE]);
    // Every answer came from a real pod that names the cluster whose entry point sent it there, and after
    // the cutover every answer came from a target pod.
    const answered = traffic.timeline.filter(([, c]) => c !== 'error');
    assert.deepEqual(answered.filter(([, c, named]) => named !== c).slice(0, 3), [], 'answers whose pod named another cluster, or none');
    const cutover = windows.at(-1)!;
    const afterCutover = answered.filter(([t]) => t >= cutover.from);
    assert.ok(afterCutover.length >= 50, `only ${afterCutover.length} answers after the cutover`);
    assert.ok(afterCutover.every(([, , named]) => named === 'target'), 'an answer after the cutover came from a source pod');
    const targetPods = Object.keys(traffic.byPod).filter((p) => p.startsWith('target/'));
    assert.ok(targetPods.length >= 3, `target pods that answered: ${targetPods.join(', ')}`);
    // All traffic is on the target, read back from HAProxy itself.
    assert.equal(await router.getWeight(), 100);
    assert.equal(result.progress.routes[0]!.weight, 100);
    // Not one request failed; both clusters served some.
    assert.equal(traffic.failed, 0, `failed requests: ${traffic.failures.join('; ')}`);
    assert.ok((traffic.byCluster.source ?? 0) > 0, 'the source served nothing');
    assert.ok((traffic.byCluster.target ?? 0) > 0, 'the target served nothing');
    // Secret values never appear in the raw S3 objects, neither as written nor base64-encoded.
    const store = new ObjectStore(config.storage);
    const keys = await store.list('kubeferry', `test/${run}/`);
    assert.ok(keys.some((k) => /\/resources\/secrets\/attempt-\d+-part-00001\.ndjson\.gz\.enc$/.test(k)), `no encrypted Secret archive among ${keys.join(', ')}`);
    const secretValue = `s3cr3t-web-${app.webNamespace}`;
    for (const key of keys) {
      const raw = (await store.get('kubeferry', key))!;
      const readable = key.endsWith('.gz') ? gunzipSync(raw) : raw;
      for (const form of [secretValue, Buffer.from(secretValue).toString('base64')]) {
        assert.equal(readable.includes(form), false, `${key} reveals a Secret value`);
      }
    }
    // Nor anywhere in the workflow's history: inputs, results, signals, heartbeats, details. Nor credentials.
    // Also what the execution shows beside its history: search attributes, memo, summary, current details.
    const history = historyText(await handle.fetchHistory()) + historyText((await handle.describe()).raw);
    const s3Secret = readEnvFile(env.S3_CREDENTIALS_FILE!).AWS_SECRET_ACCESS_KEY!;
    const backupKey = fs.readFileSync(path.join(path.dirname(env.KUBEFERRY_CONFIG!), 'backup-key'), 'utf8').trim();
    // A stretch of each cluster's client private key (the file its kubeconfig names), as PEM text.
    const clientKeys = [env.SOURCE_KUBECONFIG!, env.TARGET_KUBECONFIG!].map((file) => {
      const keyFile = /client-key: (\S+)/.exec(fs.readFileSync(file, 'utf8'))?.[1] ?? '';
      return fs.readFileSync(keyFile, 'utf8').split('\n')[1]?.slice(0, 48) ?? '';
    });
    assert.equal(clientKeys.filter((k) => k.length === 48).length, 2, 'the kubeconfigs name client keys to look for');
    for (const needle of [secretValue, Buffer.from(secretValue).toString('base64'), s3Secret, backupKey, ...clientKeys, 'client-key-data', 'BEGIN CERTIFICATE', 'BEGIN RSA', 'BEGIN EC']) {
      assert.equal(history.includes(needle), false, `the workflow history contains ${needle.slice(0, 12)}...`);
    }
    assert.ok(history.includes(`"prefix":"test/${run}"`), 'the payloads of the history were not decoded');
    // The Web UI's summaries of activities and timers are in the history.
    assert.match(history, /restore wave 1\/5: 2 objects \(Namespace\)/);
    assert.match(history, /weight 20% -> 50% in 2s/);
    assert.match(history, /route web: step 3\/3: 50% -> 100%/);
    console.log(`load: ${traffic.requests} requests, ${JSON.stringify(traffic.byCluster)}, failed ${traffic.failed}; by pod ${JSON.stringify(traffic.byPod)}; deleted ${deleted}`);
  });

  it('pauses, resumes and rolls back mid-way: traffic returns to the source at once', async () => {
    await router.setWeight(0);
    const migrationId = `${run}-rollback`;
    const request = requestFor('3s');
    const load = startLoad(`${env.HAPROXY_URL}/${app.webNamespace}/web/`, { concurrency: 4, maxSeconds: 180 });
    const handle = await startMigration(client, config.temporal.taskQueue, migrationId, request);
    const progress = () => handle.query<MigrationProgress>('progress');
    const until = async (check: (p: MigrationProgress) => boolean, what: string) => {
      const deadline = Date.now() + 60_000;
      for (let p = await progress(); !check(p); p = await progress()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(p)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    await until((p) => p.routes[0]!.weight === 20, 'the first step');
    await handle.signal('pause');
    await until((p) => p.paused, 'the pause');
    // Two step intervals pass while paused: the weight must stay at 20.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal((await progress()).routes[0]!.weight, 20);
    assert.equal(await router.getWeight(), 20);
    await handle.signal('resume');
    await until((p) => p.routes[0]!.weight === 50, 'the second step after resume');

    const rollbackAt = Date.now();
    await handle.signal('rollback', { reason: 'integration test' });
    const result = await handle.result();
    const rolledBackIn = Date.now() - rollbackAt;
    await new Promise((r) => setTimeout(r, 1000));
    const traffic = await load.stop();

    assert.equal(result.status, 'RolledBack');
    assert.equal(await router.getWeight(), 0);
    assert.equal(traffic.failed, 0, `failed requests: ${traffic.failures.join('; ')}`);
    // Once the rollback completed, every answer came from the source.
    const sinceDone = rollbackAt - load.startedAt + rolledBackIn + 100;
    const late = traffic.timeline.filter(([t]) => t > sinceDone);
    assert.ok(late.length > 0, 'no requests after the rollback');
    assert.deepEqual([...new Set(late.map(([, c]) => c))], ['source']);
    console.log(`rollback: signal to RolledBack (all traffic on the source) in ${rolledBackIn} ms`);
  });

  it('honours each existing-object policy when restoring the first backup again', async () => {
    const backupId = `${run}-migrate`;
    const core = target.makeApiClient(k8s.CoreV1Api);
    const name = 'web-config';
    const namespace = app.webNamespace;
    const original = (await source.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ namespace, name })).data;
    // Someone changed a ConfigMap in the target since the migration.
    const changed = await core.readNamespacedConfigMap({ namespace, name });
    changed.data = { 'app.properties': 'changed in the target' };
    await core.replaceNamespacedConfigMap({ namespace, name, body: changed });
    const restore = async (existingObjects: 'skip' | 'update' | 'fail', forceConflicts = false) => {
      const handle = await startMigration(client, config.temporal.taskQueue, `${run}-${existingObjects}${forceConflicts ? '-forced' : ''}`, {
        ...requestFor('1s'), task: 'restore', backupId, existingObjects, forceConflicts,
      });
      return handle.result();
    };
    const targetData = async () => (await core.readNamespacedConfigMap({ namespace, name })).data;

    await assert.rejects(restore('fail'), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.type, 'Conflict');
      assert.match(err.cause.message, /already exist in target and existingObjects is "fail"; nothing was written/);
      return true;
    });
    assert.deepEqual(await targetData(), { 'app.properties': 'changed in the target' });

    const skipped = await restore('skip');
    assert.equal(skipped.status, 'Completed');
    assert.equal(skipped.progress.objects.restored, 0);
    assert.equal(skipped.progress.objects.skipped, skipped.progress.objects.total);
    // Exactly the changed object is reported as different: server defaults do not count.
    assert.equal(skipped.progress.objects.differing, 1, JSON.stringify(skipped.progress.differences));
    assert.deepEqual(skipped.progress.differences, [`ConfigMap ${namespace}/${name}`]);
    assert.deepEqual(await targetData(), { 'app.properties': 'changed in the target' });

    // Someone else owns the changed field now: without forceConflicts, the update leaves it and says so.
    await assert.rejects(restore('update'), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
      assert.equal(err.cause.type, 'RestoreFailed');
      assert.match(err.cause.message, new RegExp(`ConfigMap ${namespace}/${name}: .*conflict.*Set forceConflicts: true to take these fields over`, 'i'));
      return true;
    });
    assert.deepEqual(await targetData(), { 'app.properties': 'changed in the target' });

    const updated = await restore('update', true);
    assert.equal(updated.status, 'Completed');
    assert.equal(updated.progress.objects.updated, updated.progress.objects.total);
    assert.deepEqual(await targetData(), original);
    const labels = (await core.readNamespacedConfigMap({ namespace, name })).metadata?.labels;
    assert.equal(labels?.[MIGRATION_ID_LABEL], `${run}-update-forced`);
  });

  it('backs up and restores as separate tasks, and refuses a corrupted archive before writing', async () => {
    // A namespace of its own, so the restore has everything to create.
    const seeded = (await seedSampleApp(source, `${run}-solo-`, { profile: 'basic' })).namespaces;
    const [solo] = seeded;
    const request = (task: 'backup' | 'restore') => ({
      ...requestFor('1s'), routes: [], task, backupId: `${run}-solo`, namespaces: { include: [solo!] },
    });
    const backup = await (await startMigration(client, config.temporal.taskQueue, `${run}-solo-backup`, request('backup'))).result();
    assert.equal(backup.status, 'Completed');
    assert.equal(backup.progress.objects.backedUp, 6);
    assert.equal(backup.progress.waves.total, 0, 'a backup task restores nothing');
    await assert.rejects(target.makeApiClient(k8s.CoreV1Api).readNamespace({ name: solo! }));

    // Corrupt the ConfigMap archive: the restore must refuse it, naming it, and write nothing.
    const store = new ObjectStore(config.storage);
    const soloManifest = JSON.parse((await store.get('kubeferry', `test/${run}/backups/${run}-solo/manifest.json`))!.toString()) as BackupManifest;
    const key = soloManifest.archives.find((a) => a.type === 'configmaps')!.key;
    const good = (await store.get('kubeferry', key))!;
    // One byte changed, the size kept: the sha256 is what tells (a longer archive is refused for its size; bad-input.test.ts).
    const tampered = Buffer.from(good);
    tampered[tampered.length >> 1]! ^= 0xff;
    await store.put('kubeferry', key, tampered);
    await assert.rejects(
      (await startMigration(client, config.temporal.taskQueue, `${run}-solo-corrupt`, request('restore'))).result(),
      (err: unknown) => {
        // The activity's failure, wrapped in the workflow's.
        assert.ok(err instanceof WorkflowFailedError && err.cause?.cause instanceof ApplicationFailure, String(err));
        assert.equal(err.cause.cause.type, 'CorruptBackup');
        assert.match(err.cause.cause.message, new RegExp(`${key.replace(/[.]/g, '\\.')} is corrupted: sha256 [0-9a-f]+ does not match`));
        return true;
      },
    );
    // Every archive is checked before the first write: not even the Namespace was created.
    await assert.rejects(target.makeApiClient(k8s.CoreV1Api).readNamespace({ name: solo! }));

    await store.put('kubeferry', key, good);
    const restored = await (await startMigration(client, config.temporal.taskQueue, `${run}-solo-restore`, request('restore'))).result();
    assert.equal(restored.status, 'Completed');
    assert.equal(restored.progress.objects.restored, 6);
    assert.deepEqual(await inventory(target, [solo!]), await inventory(source, [solo!]));

    // The same backup again, into another namespace: everything lands there and becomes ready there.
    const moved = `${run}-moved`;
    const mapped = await (await startMigration(client, config.temporal.taskQueue, `${run}-solo-mapped`, {
      ...request('restore'), namespaces: { include: [solo!], mapping: [`${solo}:${moved}`] },
    })).result();
    assert.equal(mapped.status, 'Completed');
    assert.equal(mapped.progress.objects.restored, 6);
    assert.deepEqual(mapped.progress.readiness, { ready: 1, total: 1, replicas: { ready: 3, total: 3 }, percent: 100 });
    const renamed = (await inventory(source, [solo!])).map((id) => id.replaceAll(solo!, moved)).sort();
    assert.deepEqual(await inventory(target, [moved]), renamed);
    await deleteNamespaces(source, seeded);
    await deleteNamespaces(target, [solo!, moved]);
  });

  it('backs up only what the label selector selects (and the namespaces that hold it)', async () => {
    const result = await (await startMigration(client, config.temporal.taskQueue, `${run}-selected`, {
      ...requestFor('1s'), task: 'backup', routes: [], labelSelector: 'app=web', namespaces: { include: [app.webNamespace] },
    })).result();
    assert.equal(result.status, 'Completed');
    // The namespace, and the one object in it labelled app=web: the web Deployment.
    assert.equal(result.progress.objects.backedUp, 2);
    const manifest = JSON.parse((await new ObjectStore(config.storage).get('kubeferry', `test/${run}/backups/${run}-selected/manifest.json`))!.toString());
    assert.deepEqual(manifest.kinds, [{ kind: 'Namespace', count: 1 }, { kind: 'Deployment', count: 1 }]);
    assert.equal(manifest.filters.labelSelector, 'app=web');
  });
});
