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
import YAML from 'yaml';
import { KubeRest } from '../../src/activities/kube-rest.js';
import { MIGRATION_ID_LABEL } from '../../src/activities/labels.js';
import { getProgress, startMigration } from '../../src/client.js';
import { startLoad } from '../../src/dev/load.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import type { MigrationProgress } from '../../src/workflows/messages.js';
import type { migrateCluster } from '../../src/workflows/migrate-cluster.js';
import { kubeconfigFrom, repoRoot, stackEnv } from '../support/stack.js';

const env = stackEnv();
const run = `wk-${randomBytes(3).toString('hex')}`;
const taskQueue = `kubeferry-${run}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-crash-'));
const CONFIGMAPS = 600;
let client: Client;
let source: KubeRest;
let target: KubeRest;
const namespaces: string[] = [];

/**
 * The stack's worker config with slow client-side rate limits, so that backup and restore last long
 * enough to be killed in the middle: 5 requests/s to the source, 40 to the target.
 */
function slowConfig(): string {
  const config = YAML.parse(fs.readFileSync(env.KUBEFERRY_CONFIG!, 'utf8')) as { clusters: Record<string, Record<string, unknown>> };
  Object.assign(config.clusters.source!, { qps: 5, burst: 5 });
  Object.assign(config.clusters.target!, { qps: 40, burst: 40 });
  const file = path.join(dir, 'kubeferry.yaml');
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

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

interface Pending { type: string; attempt: number; heartbeat?: unknown }

async function pendingActivities(handle: WorkflowHandle): Promise<Pending[]> {
  const { raw } = await handle.describe();
  return (raw.pendingActivities ?? []).map((a) => {
    const data = a.heartbeatDetails?.payloads?.[0]?.data;
    return {
      type: a.activityType?.name ?? '',
      attempt: a.attempt ?? 1,
      ...(data ? { heartbeat: JSON.parse(Buffer.from(data).toString('utf8')) as unknown } : {}),
    };
  });
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function seed(ns: string, configMaps: number): Promise<void> {
  namespaces.push(ns);
  await source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await source.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } } },
    },
  });
  await source.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  const queue = Array.from({ length: configMaps }, (_, i) => i);
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      await source.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: `cm-${i}` }, data: { index: String(i), run } } });
    }
  }));
}

/** ConfigMaps as name -> data, to compare a namespace across clusters. */
async function configMaps(rest: KubeRest, ns: string): Promise<Map<string, string>> {
  const list = await rest.get<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(`/api/v1/namespaces/${ns}/configmaps`);
  return new Map(list.items.filter((c) => c.metadata.name !== 'kube-root-ca.crt').map((c) => [c.metadata.name, JSON.stringify(c.data ?? {})]));
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
  await deleteNamespaces(kubeconfigFrom(env.SOURCE_KUBECONFIG!), namespaces);
  await deleteNamespaces(kubeconfigFrom(env.TARGET_KUBECONFIG!), namespaces);
  source?.close();
  target?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('worker killed with SIGKILL mid-migration', () => {
  it('during backup and again in the middle of a restore wave: a new worker resumes; every object once, none missing', async () => {
    const ns = `${run}-bulk`;
    await seed(ns, CONFIGMAPS);
    const config = slowConfig();
    let worker = await startWorkerProcess(config);
    const handle = await startMigration(client, taskQueue, `${run}-bulk`, request(ns));

    // 1. During backup: after it has heartbeated its first finished type.
    const inBackup = await waitUntil('a backup heartbeat', async () => (await pendingActivities(handle)).find((a) => a.type === 'backupResources' && a.heartbeat));
    await kill(worker);
    worker = await startWorkerProcess(config);

    // 2. In the middle of the ConfigMap wave: after the restore heartbeated a cursor into its archive.
    const inRestore = await waitUntil('a restore cursor past the first chunk', async () =>
      (await pendingActivities(handle)).find((a) => a.type === 'restoreWave' && ((a.heartbeat as { offset?: number } | undefined)?.offset ?? 0) > 0), 240_000);
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
      assert.deepEqual(await configMaps(target, ns), await configMaps(source, ns), 'the target holds exactly the source\'s ConfigMaps');

      // The kills really interrupted work that was resumed, rather than landing between activities.
      const history = await handle.fetchHistory();
      const retried = (type: string) => history.events!.some((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1 &&
        history.events!.find((s) => s.eventId?.toString() === e.activityTaskStartedEventAttributes!.scheduledEventId?.toString())?.activityTaskScheduledEventAttributes?.activityType?.name === type);
      assert.ok(retried('backupResources'), `backup resumed on a second attempt (killed after ${JSON.stringify(inBackup.heartbeat)})`);
      assert.ok(retried('restoreWave'), `restore wave resumed on a second attempt (killed at ${JSON.stringify(inRestore.heartbeat)})`);
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
    const load = startLoad(`${env.HAPROXY_URL}/${ns}/web/`, { concurrency: 4, maxSeconds: 300 });
    let worker = await startWorkerProcess(config);
    const handle = await startMigration(client, taskQueue, `${run}-web`, request(ns, {
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: [`${ns}/web`] }],
      traffic: { steps: [10, 50, 100], stepInterval: '4s' },
    }));
    const phase = async (want: (p: MigrationProgress) => boolean) => { const p = await getProgress(client, handle.workflowId); return want(p) ? p : undefined; };
    try {
      await waitUntil('the readiness phase', () => phase((p) => p.phase === 'readiness' || p.phase === 'traffic'));
      await kill(worker);
      worker = await startWorkerProcess(config);
      const atStep = await waitUntil('the second traffic step', () => phase((p) => p.phase === 'traffic' && p.step.index >= 1));
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
      assert.equal(traffic.failed, 0, `failed requests: ${traffic.failures.join('; ')}`);
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
    const config = slowConfig();
    let worker = await startWorkerProcess(config);
    const handle = await startMigration(client, taskQueue, `${run}-rb`, request(ns));
    await waitUntil('a restore cursor', async () =>
      (await pendingActivities(handle)).find((a) => a.type === 'restoreWave' && ((a.heartbeat as { offset?: number } | undefined)?.offset ?? 0) > 0), 240_000);
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
      const left = await waitUntil('the namespace gone from the target', async () => {
        const ok = await target.get(`/api/v1/namespaces/${ns}`).then(() => false, (err: { code?: number }) => err.code === 404);
        return ok ? true : undefined;
      }, 90_000);
      assert.ok(left);
    } finally {
      await kill(worker);
    }
  });
});
