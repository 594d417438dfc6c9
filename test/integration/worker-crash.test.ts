// Faults on the real stack: the worker process is SIGKILLed during backup, in the middle of a restore
// wave, during readiness and during a traffic step under load, and while it is dead a rollback arrives.
// A new worker process finishes each job; the target ends identical to the source (nothing missing,
// nothing created twice) and no request fails.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { getProgress, startMigration } from '../../src/client.js';
import { startLoad, waitServing } from '../../src/dev/load.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import type { MigrationProgress } from '../../src/workflows/messages.js';
import type { migrateCluster } from '../../src/workflows/migrate-cluster.js';
import { configMapsOf, failureWindow, heartbeatOf, namespaceGone, removeFaultRun, resumed, seedNamespace, slowWorkerConfig } from '../support/faults.js';
import { kubeconfigFrom, repoRoot, stackEnv, waitFor } from '../support/stack.js';

const env = stackEnv();
const run = `wk-${randomBytes(3).toString('hex')}`;
const taskQueue = `kubeferry-${run}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-crash-'));
const CONFIGMAPS = 600;
let client: Client;
let source: KubeRest;
let target: KubeRest;
const namespaces: string[] = [];

/** A worker in its own process, as in production; resolves once it polls. */
async function startWorkerProcess(config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/worker.ts')], {
    env: { ...process.env, KUBEFERRY_CONFIG: config, KUBEFERRY_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 90 s:\n${log}`)), 90_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('kubeferry worker: task queue')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`worker exited with ${code} before polling:\n${log}`)); });
  });
  child.removeAllListeners('exit');
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function seed(ns: string, configMaps: number): Promise<void> {
  namespaces.push(ns);
  await seedNamespace(source, ns, configMaps, run);
}

function request(ns: string, extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput {
  return {
    source: { cluster: 'source' }, target: { cluster: 'target' },
    storage: { bucket: 'kubeferry', prefix: `test/${run}` },
    namespaces: { include: [ns] },
    readiness: { pollInterval: '1s', timeout: '5m' },
    ...extra,
  };
}

before(async () => {
  client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
  source = new KubeRest(kubeconfigFrom(env.SOURCE_KUBECONFIG!));
  target = new KubeRest(kubeconfigFrom(env.TARGET_KUBECONFIG!));
});

after(async () => {
  await removeFaultRun(namespaces, [source, target], dir);
});

describe('worker killed with SIGKILL mid-migration', () => {
  it('during backup and again in the middle of a restore wave: a new worker resumes; every object once, none missing', async () => {
    const ns = `${run}-bulk`;
    await seed(ns, CONFIGMAPS);
    const config = slowWorkerConfig(env.KUBEFERRY_CONFIG!, dir);
    let worker = await startWorkerProcess(config);
    const handle = await startMigration(client, taskQueue, `${run}-bulk`, request(ns));

    // 1. During backup: after it has heartbeated its first finished type.
    const inBackup = await heartbeatOf(handle, 'backupResources');
    await kill(worker);
    worker = await startWorkerProcess(config);

    // 2. In the middle of the ConfigMap wave: after the restore heartbeated a cursor into its archive.
    const inRestore = await heartbeatOf(handle, 'restoreWave', true);
    await kill(worker);
    worker = await startWorkerProcess(config);

    try {
      const result = await handle.result();
      assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
      const o = result.progress.objects;
      const total = CONFIGMAPS + 3; // ConfigMaps, Namespace, Deployment, Service
      assert.equal(o.total, total, JSON.stringify(o));
      assert.equal(o.restored, total, `every object created exactly once, none counted twice: ${JSON.stringify(o)}`);
      assert.equal(o.failed, 0);
      assert.equal(o.skipped, 0, 'nothing was in the target before');
      assert.deepEqual(await configMapsOf(target, ns), await configMapsOf(source, ns), 'the target holds exactly the source\'s ConfigMaps');

      // The kills really interrupted work that was resumed, rather than landing between activities.
      assert.ok(await resumed(handle, 'backupResources'), `backup resumed on a second attempt (killed after ${JSON.stringify(inBackup.heartbeat)})`);
      assert.ok(await resumed(handle, 'restoreWave'), `restore wave resumed on a second attempt (killed at ${JSON.stringify(inRestore.heartbeat)})`);
      const labelled = await target.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent(`${MIGRATION_ID_LABEL}=${run}-bulk`)}`);
      assert.equal(labelled.items.length, CONFIGMAPS);
    } finally {
      await kill(worker);
    }
  });

  it('during readiness and during a traffic step under live load: the steps go on, no request fails', async () => {
    const ns = `${run}-web`;
    await seed(ns, 5);
    const config = env.KUBEFERRY_CONFIG!;
    const router = new HaproxyRouter({ socket: env.HAPROXY_ADMIN_SOCKET }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });
    await router.setWeight(0);
    // The load starts once the source serves the app: until kwok has made its new pods Ready and the
    // EndpointSlice lists them, the source edge rightly answers 503, and that is no fault of the migration.
    await waitServing(`${env.HAPROXY_URL}/${ns}/web/`, 60_000);
    const load = startLoad(`${env.HAPROXY_URL}/${ns}/web/`, { concurrency: 4, maxSeconds: 300 });
    let worker = await startWorkerProcess(config);
    const handle = await startMigration(client, taskQueue, `${run}-web`, request(ns, {
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: [`${ns}/web`] }],
      traffic: { steps: [10, 50, 100], stepInterval: '4s' },
    }));
    const phase = async (want: (p: MigrationProgress) => boolean) => { const p = await getProgress(client, handle.workflowId); return want(p) ? p : undefined; };
    try {
      await waitFor('the readiness phase', () => phase((p) => p.phase === 'readiness' || p.phase === 'traffic'), 120_000, 200);
      await kill(worker);
      worker = await startWorkerProcess(config);
      const atStep = await waitFor('the second traffic step', () => phase((p) => p.phase === 'traffic' && p.step.index >= 1), 120_000, 200);
      await kill(worker);
      // While no worker runs, the weight HAProxy holds is one the migration set, never another.
      const held = await router.getWeight();
      assert.ok([0, 10, 50].includes(held), `HAProxy holds ${held}% while the worker is dead (progress said ${JSON.stringify(atStep.routes)})`);
      await new Promise((r) => setTimeout(r, 5000));
      worker = await startWorkerProcess(config);
      const result = await handle.result();
      assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
      assert.equal(await router.getWeight(), 100);
      await new Promise((r) => setTimeout(r, 1000));
      const traffic = await load.stop();
      assert.equal(traffic.failed, 0, `failed requests ${failureWindow(traffic)}: ${traffic.failures.join('; ')}`);
      assert.ok((traffic.byCluster.target ?? 0) > 0 && (traffic.byCluster.source ?? 0) > 0, JSON.stringify(traffic.byCluster));
    } finally {
      await load.stop();
      await kill(worker);
      await router.setWeight(0);
    }
  });

  it('a rollback that arrives while no worker runs is carried out by the next worker, with cleanup', async () => {
    const ns = `${run}-rb`;
    await seed(ns, 300);
    const config = slowWorkerConfig(env.KUBEFERRY_CONFIG!, dir);
    let worker = await startWorkerProcess(config);
    const handle = await startMigration(client, taskQueue, `${run}-rb`, request(ns));
    await heartbeatOf(handle, 'restoreWave', true);
    await kill(worker);
    // A signal needs no worker: it waits in the history.
    await handle.signal('rollback', { reason: 'worker crashed mid-restore', cleanup: true });
    worker = await startWorkerProcess(config);
    try {
      const result = await (handle as WorkflowHandle<typeof migrateCluster>).result();
      assert.equal(result.status, 'RolledBack');
      assert.ok((result.progress.cleanup?.deleted ?? 0) > 0, JSON.stringify(result.progress.cleanup));
      assert.equal(result.progress.cleanup?.failed, 0);
      // Whatever the interrupted wave created, and what a cancelled attempt may still have created, is gone.
      assert.equal(await namespaceGone(target, ns, 90_000), true);
    } finally {
      await kill(worker);
    }
  });
});
