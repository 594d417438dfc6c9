// Faults in the services around the worker, on the real stack: S3 refusing connections for 30 s during
// backup and during restore, the target API server down (killed) or frozen (SIGSTOP: connections hang)
// for 30 s during restore, the Temporal server
// killed mid-migration and started again on its database file, and HAProxy's admin socket refusing
// commands during a step, HAProxy reloaded while traffic is split; a rollback arriving in the middle of each. Each run ends with the target as a
// clean run leaves it (or, rolled back, without what it created), and no request fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { KubeRest } from '../../src/kube/rest.js';
import { getProgress, startMigration } from '../../src/client.js';
import { loadWorkerConfig } from '../../src/config/worker-config.js';
import { startLoad, waitServing } from '../../src/dev/load.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import { createWorker } from '../../src/worker.js';
import { configMapsOf, failureWindow, freezeProcess, heartbeatOf, killProcess, namespaceGone, PID_FILES, reloadHaproxy, removeFaultRun, resumed, seedNamespace, sleep, slowWorkerConfig } from '../support/faults.js';
import { quietRuntime } from '../support/runtime.js';
import { kubeconfigFrom, stackEnv, waitFor } from '../support/stack.js';
import { labelledIn } from '../support/sweep.js';

const env = stackEnv();
const run = `sf-${randomBytes(3).toString('hex')}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-faults-'));
const OUTAGE_MS = 30_000;
let client: Client;
let source: KubeRest;
let target: KubeRest;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
const namespaces: string[] = [];

function request(ns: string, extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput {
  return {
    source: { cluster: 'source' }, target: { cluster: 'target' },
    storage: { bucket: 'kubeferry', prefix: `test/${run}` },
    namespaces: { include: [ns] },
    readiness: { pollInterval: '1s', timeout: '5m' },
    ...extra,
  };
}

async function seed(ns: string, configMaps: number) {
  namespaces.push(ns);
  await seedNamespace(source, ns, configMaps, run);
}


before(async () => {
  quietRuntime();
  client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
  source = new KubeRest(kubeconfigFrom(env.SOURCE_KUBECONFIG!));
  target = new KubeRest(kubeconfigFrom(env.TARGET_KUBECONFIG!));
  // One worker for all the faults, slowed down so that each fault lands in the middle of the work.
  const config = loadWorkerConfig(slowWorkerConfig(env.KUBEFERRY_CONFIG!, dir));
  taskQueue = config.temporal.taskQueue = `kubeferry-${run}`;
  worker = await createWorker(config, await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS }));
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await removeFaultRun(namespaces, [source, target], dir);
});

describe('faults in the stack around the worker', () => {
  it('S3 refuses connections for 30 s during backup, then the target API server is down for 30 s mid restore: the migration finishes, target identical', async () => {
    const ns = `${run}-a`;
    await seed(ns, 300);
    const handle = await startMigration(client, taskQueue, `${run}-a`, request(ns));

    await heartbeatOf(handle, 'backupResources');
    const s3 = await killProcess(PID_FILES.s3());
    await sleep(OUTAGE_MS);
    await s3.revive();

    await heartbeatOf(handle, 'restoreWave', true);
    const api = await killProcess(PID_FILES.targetApiServer());
    await sleep(OUTAGE_MS);
    await api.revive();

    const result = await handle.result();
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.deepEqual(result.progress.objects, { ...result.progress.objects, restored: 303, failed: 0, skipped: 0, total: 303 });
    assert.deepEqual(await configMapsOf(target, ns), await configMapsOf(source, ns));
    assert.ok(await resumed(handle, 'backupResources') || await resumed(handle, 'restoreWave'), 'a fault interrupted an activity that was then retried');
  });

  it('S3 refuses connections for 30 s mid restore: the migration finishes, target identical', async () => {
    const ns = `${run}-g`;
    await seed(ns, 300);
    const handle = await startMigration(client, taskQueue, `${run}-g`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    const s3 = await killProcess(PID_FILES.s3());
    await sleep(OUTAGE_MS);
    await s3.revive();
    const result = await handle.result();
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.equal(result.progress.objects.restored, 303);
    assert.equal(result.progress.objects.failed, 0);
    assert.deepEqual(await configMapsOf(target, ns), await configMapsOf(source, ns));
  });

  it('S3 refuses connections for 30 s mid restore and a rollback with cleanup arrives during the outage: rolled back, nothing left', async () => {
    const ns = `${run}-b`;
    await seed(ns, 300);
    const handle = await startMigration(client, taskQueue, `${run}-b`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    const s3 = await killProcess(PID_FILES.s3());
    await sleep(OUTAGE_MS / 2);
    await handle.signal('rollback', { reason: 'S3 outage', cleanup: true });
    await sleep(OUTAGE_MS / 2);
    await s3.revive();
    const result = await handle.result();
    assert.equal(result.status, 'RolledBack');
    assert.equal(result.progress.cleanup?.failed, 0, JSON.stringify(result.progress));
    assert.ok((result.progress.cleanup?.deleted ?? 0) > 0);
    await namespaceGone(target, ns);
  });

  it('a rollback with cleanup mid-wave from a healthy worker, restoring into a namespace that exists in the target, with cluster-scoped objects: nothing of the migration left in any served type, what existed kept as it was', async () => {
    const ns = `${run}-pre`;
    await seed(ns, 300);
    // Cluster-scoped objects the restore brings (clusterResources auto): a ClusterRole bound to a ServiceAccount of the namespace.
    await source.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name: 'reader' } } });
    await source.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { body: { metadata: { name: `${ns}-reader` }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] } });
    await source.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { body: {
      metadata: { name: `${ns}-reader` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${ns}-reader` },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    } });
    // The target namespace exists already, with an object of its own: cleanup cannot hide behind a cascade.
    await target.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    await target.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'theirs' }, data: { owner: 'target team' } } });
    type Meta = { metadata: { uid: string; resourceVersion: string } };
    const identity = async (p: string) => (({ metadata: { uid, resourceVersion } }: Meta) => ({ uid, resourceVersion }))(await target.get<Meta>(p));
    const before = { ns: await identity(`/api/v1/namespaces/${ns}`), theirs: await identity(`/api/v1/namespaces/${ns}/configmaps/theirs`) };

    const handle = await startMigration(client, taskQueue, `${run}-pre`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    await handle.signal('rollback', { reason: 'rollback mid-wave', cleanup: true });
    const result = await handle.result();
    assert.equal(result.status, 'RolledBack');
    assert.equal(result.progress.cleanup?.failed, 0, JSON.stringify(result.progress));
    // The cancelled attempt has stopped before cleanup ran: a while later, still nothing of it anywhere.
    await sleep(5_000);
    assert.deepEqual(await labelledIn(target, `${run}-pre`), []);
    assert.deepEqual(await target.get(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${ns}-reader`).then(() => 'present', (e: { code?: number }) => e.code), 404);
    assert.deepEqual({ ns: await identity(`/api/v1/namespaces/${ns}`), theirs: await identity(`/api/v1/namespaces/${ns}/configmaps/theirs`) }, before);
    assert.deepEqual([...(await configMapsOf(target, ns)).keys()], ['theirs']);
    for (const path of [`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${ns}-reader`, `/apis/rbac.authorization.k8s.io/v1/clusterroles/${ns}-reader`]) {
      await source.request('DELETE', path).catch(() => undefined);
    }
  });

  it('the Temporal server is killed mid restore and started again 10 s later on its database: the migration finishes, target identical', async () => {
    const ns = `${run}-c`;
    await seed(ns, 300);
    const handle = await startMigration(client, taskQueue, `${run}-c`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    const temporal = await killProcess(PID_FILES.temporal());
    await sleep(10_000);
    await temporal.revive();
    const result = await waitFor('the result after the restart', () => handle.result(), 240_000, 1000);
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.equal(result.progress.objects.restored, 303);
    assert.equal(result.progress.objects.failed, 0);
    assert.deepEqual(await configMapsOf(target, ns), await configMapsOf(source, ns));
  });

  it('the target API server is frozen for 30 s mid restore and a rollback with cleanup arrives during the freeze: rolled back, nothing left', async () => {
    const ns = `${run}-e`;
    await seed(ns, 300);
    const handle = await startMigration(client, taskQueue, `${run}-e`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    const api = freezeProcess(PID_FILES.targetApiServer());
    try {
      await sleep(OUTAGE_MS / 2);
      await handle.signal('rollback', { reason: 'target API server outage', cleanup: true });
      await sleep(OUTAGE_MS / 2);
    } finally {
      api.thaw();
    }
    const result = await handle.result();
    assert.equal(result.status, 'RolledBack');
    assert.equal(result.progress.cleanup?.failed, 0, JSON.stringify(result.progress));
    await namespaceGone(target, ns);
  });

  it('the Temporal server is killed mid restore and a rollback with cleanup arrives as soon as it is back: rolled back, nothing left', async () => {
    const ns = `${run}-f`;
    await seed(ns, 300);
    const handle = await startMigration(client, taskQueue, `${run}-f`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    // The worker goes on restoring while Temporal is down, so the migration could finish before the
    // rollback gets in. Paused, it stops at the next wave or the readiness wait and stays open for it.
    await handle.signal('pause');
    await waitFor('the pause', async () => ((await getProgress(client, handle.workflowId)).paused ? true : undefined), 30_000, 200);
    const temporal = await killProcess(PID_FILES.temporal());
    await sleep(10_000);
    await temporal.revive();
    await waitFor('Temporal to take the rollback', () => handle.signal('rollback', { reason: 'after a Temporal restart', cleanup: true }).then(() => true), 120_000, 1000);
    const result = await waitFor('the result after the restart', () => handle.result(), 240_000, 1000);
    assert.equal(result.status, 'RolledBack');
    assert.equal(result.progress.cleanup?.failed, 0, JSON.stringify(result.progress));
    await namespaceGone(target, ns);
  });

  it('HAProxy is reloaded while traffic is split, which sets its weights back to those of its configuration: the reset is found, told and set right before the next step; no failed request', async () => {
    const ns = `${run}-h`;
    await seed(ns, 3);
    const router = new HaproxyRouter({ socket: env.HAPROXY_ADMIN_SOCKET! }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });
    await router.setWeight(0);
    await waitServing(`${env.HAPROXY_URL}/${ns}/web/`, 60_000);
    const load = startLoad(`${env.HAPROXY_URL}/${ns}/web/`, { concurrency: 4, maxSeconds: 300 });
    const handle = await startMigration(client, taskQueue, `${run}-h`, request(ns, {
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: [`${ns}/web`] }],
      traffic: { steps: [30, 100], stepInterval: '45s' },
    }));
    try {
      await waitFor('the first step', async () => ((await getProgress(client, handle.workflowId)).routes[0]?.weight === 30 ? true : undefined), 120_000, 200);
      await sleep(3_000);
      await reloadHaproxy();
      // Found at the configuration's weights (all to the source: safe, but not what the step set), and set again.
      const found = await waitFor('the reset to be found and set right', async () => {
        const p = await getProgress(client, handle.workflowId);
        return p.routes[0]?.resets ? p : undefined;
      }, 20_000, 200);
      assert.equal(found.step.index, 1, 'set right while the first step still holds');
      assert.equal(await router.getWeight(), 30);
      assert.match(found.errors.join('\n'), /route web: found at 0% to the target where 30% was set \(HAProxy's weights of backend web are those of its configuration \(source 100, target 0\): a reload or restart sets runtime weights back to them\); setting it to 30% again/);
      const result = await handle.result();
      assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
      assert.deepEqual(result.progress.routes.map((r) => ({ weight: r.weight, resets: r.resets })), [{ weight: 100, resets: 1 }]);
      assert.equal(await router.getWeight(), 100);
      const traffic = await load.stop();
      assert.equal(traffic.failed, 0, `${failureWindow(traffic)}: ${traffic.failures.join('; ')}`);
    } finally {
      await load.stop();
      await router.setWeight(0);
    }
  });

  it('the HAProxy admin socket refuses commands during a step, and later during a rollback: retried, no weight nobody asked for, no failed request', async () => {
    const ns = `${run}-d`;
    await seed(ns, 3);
    const socket = env.HAPROXY_ADMIN_SOCKET!;
    const away = `${socket}.away`;
    const router = new HaproxyRouter({ socket }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });
    await router.setWeight(0);
    // The load starts once the source serves the app: until kwok has made its new pods Ready and the
    // EndpointSlice lists them, the source edge rightly answers 503, and that is no fault of the migration.
    await waitServing(`${env.HAPROXY_URL}/${ns}/web/`, 60_000);
    const load = startLoad(`${env.HAPROXY_URL}/${ns}/web/`, { concurrency: 4, maxSeconds: 300 });
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (fs.existsSync(socket)) {
          const weight = await router.getWeight().catch(() => -1);
          if (weight >= 0) samples.push(weight);
        }
        await sleep(100);
      }
    })();
    const handle = await startMigration(client, taskQueue, `${run}-d`, request(ns, {
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: [`${ns}/web`] }],
      traffic: { steps: [10, 30, 60, 100], stepInterval: '3s', observeFor: '10m' },
    }));
    try {
      await waitFor('the first step', async () => ((await getProgress(client, handle.workflowId)).step.index >= 1 ? true : undefined), 120_000, 200);
      fs.renameSync(socket, away); // connections to the admin socket now fail: ENOENT
      await sleep(8_000);
      fs.renameSync(away, socket);
      await waitFor('all traffic on the target', async () => ((await getProgress(client, handle.workflowId)).routes[0]?.weight === 100 ? true : undefined), 120_000);
      assert.ok(await resumed(handle, 'setRouteWeight'), 'a step was retried after the socket refused it');

      fs.renameSync(socket, away);
      await handle.signal('rollback', { reason: 'admin socket test' });
      await sleep(5_000);
      assert.equal((await getProgress(client, handle.workflowId)).phase, 'rolling-back', 'the rollback waits for the router');
      fs.renameSync(away, socket);
      const result = await handle.result();
      assert.equal(result.status, 'RolledBack');
      assert.equal(await router.getWeight(), 0);
      await sleep(1000);
      const traffic = await load.stop();
      assert.equal(traffic.failed, 0, `${failureWindow(traffic)}: ${traffic.failures.join('; ')}`);
      assert.deepEqual(strayWeights(samples, [0, 10, 30, 60, 100]), [], `HAProxy held only weights the migration asked for: ${samples.join(', ')}`);
    } finally {
      if (fs.existsSync(away)) fs.renameSync(away, socket);
      sampling = false;
      await sampler;
      await load.stop();
      await router.setWeight(0);
    }
  });
});

/**
 * Samples of a route's weight that are neither a weight the migration asked for nor the moment between
 * two of them. HAProxy applies the two servers' weights one after the other, so a sample can fall between
 * them (a rollback from 100 raises the source first: 50 for an instant); such a passing weight lies
 * strictly between the asked weights before and after it and is gone by the next sample or the one after.
 */
function strayWeights(samples: readonly number[], asked: readonly number[]): number[] {
  const stray: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const w = samples[i]!;
    if (asked.includes(w)) continue;
    let before = i - 1;
    while (before >= 0 && !asked.includes(samples[before]!)) before--;
    let after = i + 1;
    while (after < samples.length && !asked.includes(samples[after]!)) after++;
    const [a, b] = [samples[before], samples[after]];
    const passing = a !== undefined && b !== undefined && Math.min(a, b) < w && w < Math.max(a, b) && after - before <= 3;
    if (!passing) stray.push(w);
  }
  return stray;
}

