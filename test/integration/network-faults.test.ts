// Network faults between a live worker and the services it talks to, on the real stack (proxies on
// loopback, nothing mocked): an answer lost after the write succeeded (a create in the target, the
// backup's manifest in S3), and a worker cut off from Temporal while it keeps working (not killed), so
// that a second attempt of the same activity runs beside it on another worker. Each ends with every
// object once in the target, exact counts, and a backup that restores.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import YAML from 'yaml';
import { KubeRest } from '../../src/kube/rest.js';
import { startMigration } from '../../src/client.js';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker-config.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { backupRoot } from '../../src/store/backup-format.js';
import { createWorker } from '../../src/worker.js';
import { configMapsOf, pendingActivities, removeFaultRun, resumed, seedNamespace } from '../support/faults.js';
import { startAnswerDroppingProxy, startPartitionableProxy, type AnswerDroppingProxy, type PartitionableProxy } from '../support/network.js';
import { quietRuntime } from '../support/runtime.js';
import { kubeconfigFrom, stackEnv, waitFor } from '../support/stack.js';

const env = stackEnv();
const run = `nf-${randomBytes(3).toString('hex')}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-network-'));
let client: Client;
let source: KubeRest;
let target: KubeRest;
const namespaces: string[] = [];
/** Closed after each test, in this order: workers first, then the proxies under them. */
const cleanups: (() => Promise<void>)[] = [];
/** Healed after each test before anything stops: a worker's shutdown needs its server. */
const partitions: PartitionableProxy[] = [];
/** Migrations a failed test may leave running; terminated so that its workers can stop. */
const handles: WorkflowHandle[] = [];

function request(ns: string): MigrationRequestInput {
  return {
    source: { cluster: 'source' }, target: { cluster: 'target' },
    storage: { bucket: 'kubeferry', prefix: `test/${run}` },
    namespaces: { include: [ns] },
    readiness: { pollInterval: '1s', timeout: '5m' },
  };
}

/** A cluster's kubeconfig, pointed at a proxy that serves with the cluster's own certificate. */
async function clusterThroughProxy(
  file: string, name: string,
  dropAnswer: (method: string, p: string, body: Buffer) => boolean,
  holdAnswer?: (method: string, p: string) => boolean,
): Promise<{ kubeconfig: string; proxy: AnswerDroppingProxy }> {
  const kc = YAML.parse(fs.readFileSync(file, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority': string } }[];
    users: { user: { 'client-certificate': string; 'client-key': string } }[];
  };
  const cluster = kc.clusters[0]!.cluster;
  const user = kc.users[0]!.user;
  const tls = { cert: fs.readFileSync(user['client-certificate']), key: fs.readFileSync(user['client-key']), ca: fs.readFileSync(cluster['certificate-authority']) };
  const proxy = await startAnswerDroppingProxy({ upstream: cluster.server, tls, dropAnswer, holdAnswer });
  cluster.server = proxy.url;
  const kubeconfig = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(kubeconfig, YAML.stringify(kc));
  cleanups.push(() => proxy.close());
  return { kubeconfig, proxy };
}

async function s3ThroughProxy(dropAnswer: (method: string, p: string) => boolean): Promise<AnswerDroppingProxy> {
  const proxy = await startAnswerDroppingProxy({ upstream: env.S3_ENDPOINT!, dropAnswer });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A worker on the test's task queue, connected to Temporal at `address`. */
async function startWorker(taskQueue: string, address: string, configure: (config: WorkerConfig) => void): Promise<Worker> {
  const config = loadWorkerConfig(env.KUBEFERRY_CONFIG!);
  config.temporal.taskQueue = taskQueue;
  configure(config);
  const worker = await createWorker(config, await NativeConnection.connect({ address }));
  const running = worker.run();
  cleanups.unshift(async () => {
    worker.shutdown();
    await running;
  });
  return worker;
}

async function temporalThroughProxy(): Promise<PartitionableProxy> {
  const proxy = await startPartitionableProxy(env.TEMPORAL_ADDRESS!);
  partitions.push(proxy);
  cleanups.push(() => proxy.close());
  return proxy;
}

async function seed(ns: string, configMaps: number) {
  namespaces.push(ns);
  await seedNamespace(source, ns, configMaps, run);
}

/** Waits until the activity runs a second attempt; returns when that was seen. */
async function secondAttemptOf(handle: WorkflowHandle, type: string): Promise<number> {
  await waitFor(`a second attempt of ${type}`, async () =>
    (await pendingActivities(handle)).some((a) => a.type === type && a.attempt >= 2) || undefined, 180_000, 200);
  return Date.now();
}

/**
 * Cuts the worker behind `temporal` off and starts another on the queue, connected directly; returns
 * when the activity runs its second attempt (there, as the cut-off worker can no longer heartbeat).
 */
async function takeOverElsewhere(temporal: PartitionableProxy, queue: string, handle: WorkflowHandle, type: string): Promise<number> {
  temporal.partition();
  await startWorker(queue, env.TEMPORAL_ADDRESS!, () => undefined);
  return secondAttemptOf(handle, type);
}

const pathOnly = (p: string) => p.split('?')[0]!;
/** A page after the first of a namespace's ConfigMaps. */
const laterConfigMapsPage = (ns: string, p: string) =>
  pathOnly(p) === `/api/v1/namespaces/${ns}/configmaps` && new URLSearchParams(p.split('?')[1]).has('continue');

before(async () => {
  quietRuntime();
  client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
  source = new KubeRest(kubeconfigFrom(env.SOURCE_KUBECONFIG!));
  target = new KubeRest(kubeconfigFrom(env.TARGET_KUBECONFIG!));
});

async function closeAll() {
  for (const p of partitions.splice(0)) p.heal();
  for (const h of handles.splice(0)) await h.terminate('the test is over').catch(() => undefined);
  for (const c of cleanups.splice(0)) await c();
}

// Whatever a test ends with, its workers stop (a cut-off one healed first) before the next test starts.
afterEach(closeAll);

after(async () => {
  await removeFaultRun(namespaces, [source, target], dir);
});

describe('network faults between a live worker and the stack', () => {
  it('the answers to a list page of the source, a create in the target and the manifest write are lost: the page is read again in the same attempt, each write counted once, target identical', async () => {
    const ns = `${run}-lost`;
    const queue = `kubeferry-${ns}`;
    await seed(ns, 50);
    let createDropped = false;
    let manifestDropped = false;
    let pageDropped = false;
    const { kubeconfig: sourceKubeconfig, proxy: src } = await clusterThroughProxy(env.SOURCE_KUBECONFIG!, 'lost-source', (method, p) =>
      !pageDropped && method === 'GET' && laterConfigMapsPage(ns, p) && (pageDropped = true));
    const { kubeconfig, proxy: kube } = await clusterThroughProxy(env.TARGET_KUBECONFIG!, 'lost-target', (method, p, body) => {
      if (createDropped || method !== 'POST' || pathOnly(p) !== `/api/v1/namespaces/${ns}/configmaps`) return false;
      if ((JSON.parse(body.toString('utf8')) as { metadata?: { name?: string } }).metadata?.name !== 'cm-7') return false;
      return (createDropped = true);
    });
    const s3 = await s3ThroughProxy((method, p) => {
      if (manifestDropped || method !== 'PUT' || !pathOnly(p).endsWith('/manifest.json')) return false;
      return (manifestDropped = true);
    });
    await startWorker(queue, env.TEMPORAL_ADDRESS!, (config) => {
      config.clusters.source!.kubeconfig = sourceKubeconfig;
      config.clusters.target!.kubeconfig = kubeconfig;
      config.storage.endpoint = s3.url;
    });
    const handle = await startMigration(client, queue, `${run}-lost`, request(ns));
    const result = await handle.result();

    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.ok(pageDropped && createDropped && manifestDropped, 'all three answers were dropped');
    assert.equal(src.requests.filter((r) => r.method === 'GET' && laterConfigMapsPage(ns, r.path)).length, 2, 'the page was read again');
    assert.equal(await resumed(handle, 'backupResources'), false, 'within the same attempt: the backup did not start over');
    const creates = kube.requests.filter((r) => r.method === 'POST' && pathOnly(r.path) === `/api/v1/namespaces/${ns}/configmaps`);
    assert.equal(creates.length, 51, 'one create per ConfigMap, and the one whose answer was lost sent again');
    assert.equal(s3.requests.filter((r) => r.method === 'PUT' && pathOnly(r.path).endsWith('/manifest.json')).length, 2, 'the manifest write was sent again');
    assert.deepEqual(result.progress.objects, { ...result.progress.objects, restored: 53, failed: 0, skipped: 0, total: 53 });
    assert.deepEqual(await configMapsOf(target, ns), await configMapsOf(source, ns));
  });

  it('a worker cut off from Temporal mid backup keeps writing while a second attempt runs on another worker: the backup is valid, every object once in the target', async () => {
    const ns = `${run}-bk`;
    const queue = `kubeferry-${ns}`;
    await seed(ns, 400);
    const temporal = await temporalThroughProxy();
    const s3 = await s3ThroughProxy(() => false);
    // From the third page of ConfigMaps on, the source's answers wait (the worker waits on them, and its
    // retries wait too) until the second attempt runs elsewhere; then the cut-off worker goes on.
    let holding = false;
    const { kubeconfig, proxy: src } = await clusterThroughProxy(env.SOURCE_KUBECONFIG!, 'cut-off-source', () => false, (_method, p) =>
      (holding ||= laterConfigMapsPage(ns, p)));
    await startWorker(queue, temporal.address, (config) => {
      config.clusters.source!.kubeconfig = kubeconfig;
      config.storage.endpoint = s3.url;
    });
    const handle = await startMigration(client, queue, `${run}-bk`, request(ns));
    handles.push(handle);
    await waitFor('the cut-off worker waiting on a page of ConfigMaps', async () => src.held() > 0 || undefined, 120_000, 100);
    const secondStarted = await takeOverElsewhere(temporal, queue, handle, 'backupResources');
    // Let go of the cut-off worker only once the second attempt writes parts of its own: both write at once.
    const store = new ObjectStore(loadWorkerConfig(env.KUBEFERRY_CONFIG!).storage);
    const root = `${backupRoot(`test/${run}`, `${run}-bk`)}/`;
    await waitFor('a part of the second attempt', async () => (await store.list('kubeferry', root)).some((k) => k.includes('attempt-2-')) || undefined, 120_000, 100);
    src.release();

    const result = await handle.result();
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.ok(await resumed(handle, 'backupResources'));
    await waitFor('the cut-off worker writing to S3 after the second attempt began', async () =>
      s3.requests.some((r) => r.method === 'PUT' && r.at > secondStarted) || undefined, 60_000);
    const keys = await store.list('kubeferry', root);
    assert.ok(keys.some((k) => k.includes('attempt-1-')) && keys.some((k) => k.includes('attempt-2-')), `parts of both attempts: ${keys.join(', ')}`);
    assert.deepEqual(result.progress.objects, { ...result.progress.objects, restored: 403, failed: 0, skipped: 0, total: 403 });
    assert.deepEqual(await configMapsOf(target, ns), await configMapsOf(source, ns));
  });

  it('a worker cut off from Temporal mid restore wave keeps creating while a second attempt resumes on another worker: every object once, counted once', async () => {
    const ns = `${run}-rs`;
    const queue = `kubeferry-${ns}`;
    await seed(ns, 600);
    const temporal = await temporalThroughProxy();
    // After 200 ConfigMaps were created, the target's answers wait until the second attempt runs
    // elsewhere; then the cut-off worker goes on creating.
    let creates = 0;
    const { kubeconfig, proxy: kube } = await clusterThroughProxy(env.TARGET_KUBECONFIG!, 'cut-off-target', () => false, (method, p) =>
      (creates += method === 'POST' && pathOnly(p) === `/api/v1/namespaces/${ns}/configmaps` ? 1 : 0) > 200);
    await startWorker(queue, temporal.address, (config) => {
      config.clusters.target!.kubeconfig = kubeconfig;
      Object.assign(config.clusters.target!, { qps: 50, burst: 10 });
    });
    const handle = await startMigration(client, queue, `${run}-rs`, request(ns));
    handles.push(handle);
    await waitFor('the cut-off worker waiting on creates', async () => kube.held() > 0 || undefined, 180_000, 100);
    const secondStarted = await takeOverElsewhere(temporal, queue, handle, 'restoreWave');
    kube.release();

    const result = await handle.result();
    assert.equal(result.status, 'Completed', JSON.stringify(result.progress.errors));
    assert.ok(await resumed(handle, 'restoreWave'));
    await waitFor('the cut-off worker creating after the second attempt began', async () =>
      kube.requests.some((r) => r.method === 'POST' && r.at > secondStarted) || undefined, 60_000);
    assert.deepEqual(result.progress.objects, { ...result.progress.objects, restored: 603, failed: 0, skipped: 0, total: 603 });
    const configMaps = await configMapsOf(target, ns);
    assert.equal(configMaps.size, 600);
    assert.deepEqual(configMaps, await configMapsOf(source, ns));
  });
});
