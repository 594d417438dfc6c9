// npm run bench -- --objects N [--json FILE] [--qps Q] [--keep]
//
// One benchmark run on the local stack (npm run stack:up): N objects of a realistic mix in the source,
// then, in this order,
//   1. the limit: a minimal direct client creates the same objects into the target (best concurrency of a
//      short probe), and lists them from the source and puts them to S3;
//   2. kubeferry: a backup task, a restore task from it, and a whole migrate run (a new backup, a restore
//      into namespaces of their own, readiness, timer-driven traffic steps on HAProxy, then a rollback);
//   3. the migrate run's history (events, bytes), the worker's peak memory, the traffic timings.
// It prints a table and writes the JSON (docs/performance.md explains every key). Apart from the tests:
// nothing here asserts a speed.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import YAML from 'yaml';
import { KubeApiError, KubeRest } from '../src/kube/rest.js';
import { ObjectStore } from '../src/store/object-store.js';
import { getProgress, listBackups, rollbackMigration, startBackup, startMigration, startRestore } from '../src/client.js';
import { loadWorkerConfig, readEnvFile } from '../src/config/worker-config.js';
import { HaproxyRouter } from '../src/routers/haproxy.js';
import type { MigrationRequestInput } from '../src/domain/request.js';
import type { migrateCluster, MigrationResult } from '../src/workflows/index.js';
import { activityRuns, activitySpanMs, startedMs, stepApplyDelays } from './history.js';
import { inNamespace, widgetCrd, WIDGET_CRD, workloadMix, type BenchObject } from './mix.js';
import { createAll, deleteNamespacesAndWait, listAndPut, probeCreateConcurrency, type Rate } from './raw.js';
import { waitFor } from '../test/support/stack.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '1000' },
    json: { type: 'string' },
    qps: { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.objects);
if (!Number.isInteger(N) || N < 20) throw new Error(`--objects must be a whole number of at least 20, not "${args.objects}"`);
const QPS = Number(args.qps);
if (!Number.isFinite(QPS) || QPS < 0) throw new Error(`--qps must be 0 (no client-side limit) or a positive number, not "${args.qps}"`);

const stateDir = process.env.KUBEFERRY_STATE ?? path.join(repoRoot, '.stack');
const envFile = path.join(stateDir, 'stack.env');
if (!fs.existsSync(envFile)) throw new Error(`the local stack is not up (${envFile} is missing): run 'npm run stack:up' first`);
const env = readEnvFile(envFile);
const run = `bench-${randomBytes(3).toString('hex')}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), `kubeferry-${run}-`));
const bucket = 'kubeferry';
const prefix = `bench/${run}`;
const taskQueue = `kubeferry-${run}`;
const CREATE_CONCURRENCY = [4, 8, 16, 32, 64];
const LIST_CONCURRENCY = [2, 4, 8];

const kubeconfig = (file: string) => { const kc = new KubeConfig(); kc.loadFromFile(file); return kc; };
// The direct client: no client-side rate limit, enough sockets for any concurrency tried.
const source = new KubeRest(kubeconfig(env.SOURCE_KUBECONFIG!), { qps: 0, maxSockets: 256 });
const target = new KubeRest(kubeconfig(env.TARGET_KUBECONFIG!), { qps: 0, maxSockets: 256 });
const stackConfig = loadWorkerConfig(env.KUBEFERRY_CONFIG!);
const store = new ObjectStore(stackConfig.storage);
const haproxySocket = stackConfig.routers.haproxy?.adminSocket;
if (!haproxySocket) throw new Error(`${env.KUBEFERRY_CONFIG} has no routers.haproxy.adminSocket`);
const haproxy = new HaproxyRouter({ socket: haproxySocket }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

async function ensureCrd(rest: KubeRest): Promise<void> {
  await rest.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: widgetCrd }).catch((err: unknown) => {
    if (!(err instanceof KubeApiError && err.code === 409)) throw err;
  });
  for (let i = 0; i < 120; i++) {
    const crd = await rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${WIDGET_CRD}`);
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`CRD ${WIDGET_CRD} was not Established within 30 s`);
}

/** Fake kwok nodes enough for `pods` more pods (the stack starts with two of 110). */
async function ensureNodeCapacity(rest: KubeRest, pods: number): Promise<void> {
  const nodes = Math.ceil(pods / 1000);
  for (let i = 0; i < nodes; i++) {
    const name = `bench-node-${i}`;
    await rest.request('POST', '/api/v1/nodes', {
      body: {
        apiVersion: 'v1', kind: 'Node',
        metadata: { name, annotations: { 'kwok.x-k8s.io/node': 'fake' }, labels: { type: 'kwok', 'kubernetes.io/hostname': name } },
        status: { allocatable: { cpu: '256', memory: '1Ti', pods: '1000' }, capacity: { cpu: '256', memory: '1Ti', pods: '1000' } },
      },
    }).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.code === 409)) throw err;
    });
  }
}

/**
 * A second Service IP range: the local clusters' own is a /24, and a run of N objects holds 0.15 N
 * Services per namespace copy (the restore's and the migrate run's in the target).
 */
async function ensureServiceRange(rest: KubeRest): Promise<void> {
  await rest.request('POST', '/apis/networking.k8s.io/v1/servicecidrs', {
    body: { apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'bench-services' }, spec: { cidrs: ['10.128.0.0/16'] } },
  }).catch((err: unknown) => {
    if (!(err instanceof KubeApiError && err.code === 409)) throw err;
  });
}

/** Samples the HAProxy route's target weight every 10 ms: [time, weight] at each change. */
function sampleWeights() {
  const samples: [number, number][] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const w = await haproxy.getWeight().catch(() => undefined);
      if (w !== undefined && samples.at(-1)?.[1] !== w) samples.push([Date.now(), w]);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return { samples, async stop() { stopped = true; await loop; } };
}

/** Samples the worker's resident memory every 250 ms, keeping the peak of the current phase. */
function memoryByPhase(worker: WorkerProcess) {
  const peaks: Record<string, number> = {};
  let phase = 'start';
  const timer = setInterval(() => {
    try {
      peaks[phase] = Math.max(peaks[phase] ?? 0, worker.rssMB());
    } catch { /* the worker is gone */ }
  }, 250);
  return { peaks, phase(name: string) { phase = name; }, stop() { clearInterval(timer); } };
}

async function historyOf(handle: WorkflowHandle) {
  const history = await handle.fetchHistory();
  return { history, events: history.events?.length ?? 0, bytes: proto.temporal.api.history.v1.History.encode(history).finish().length };
}

function benchWorkerConfig(): string {
  const doc = YAML.parseDocument(fs.readFileSync(env.KUBEFERRY_CONFIG!, 'utf8'));
  for (const name of ['source', 'target']) doc.setIn(['clusters', name, 'qps'], QPS);
  const file = path.join(work, 'kubeferry.yaml');
  fs.writeFileSync(file, doc.toString(), { mode: 0o600 });
  return file;
}

async function main() {
  const mix = workloadMix(N, run);
  const pods = mix.deployments;
  log(`${N} objects (${Object.entries(mix.counts).map(([k, v]) => `${v} ${k}`).join(', ')}) in ${mix.namespaces.length} namespaces; run ${run}`);
  const report: Record<string, unknown> = { objects: N, run, startedAt: new Date().toISOString(), machine: machine(), mix: mix.counts, namespaces: mix.namespaces.length };

  // Namespaces still being deleted (an earlier run's) would load the API servers while this one measures.
  for (const [name, rest] of [['source', source], ['target', target]] as const) {
    await waitFor(`namespaces being deleted in the ${name} to be gone`, async () => {
      const list = await rest.get<{ items: { status?: { phase?: string } }[] }>('/api/v1/namespaces');
      return list.items.some((n) => n.status?.phase === 'Terminating') ? undefined : true;
    }, 30 * 60_000, 1000);
  }
  await Promise.all([ensureCrd(source), ensureCrd(target)]);
  // Source pods, the target's twice over (restore and migrate), and the raw runs'.
  await Promise.all([ensureNodeCapacity(source, pods), ensureNodeCapacity(target, pods * 4), ensureServiceRange(source), ensureServiceRange(target)]);

  log('seeding the source');
  const seedStarted = Date.now();
  const seeded = await createAll(source, mix.namespaces, mix.objects, 32);
  log(`  seeded ${seeded.objects} objects in ${round(seeded.seconds)} s`);
  // Measured on a settled machine: the source's controllers are done making the seeded pods.
  const settled = await waitFor('the seeded Deployments to be available in the source', async () => {
    let available = 0;
    for (const ns of mix.namespaces) {
      const list = await source.get<{ items: { status?: { availableReplicas?: number } }[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`);
      available += list.items.filter((d) => (d.status?.availableReplicas ?? 0) >= 1).length;
    }
    return available >= mix.deployments ? Date.now() : undefined;
  }, 30 * 60_000, 1000);
  log(`  source settled ${round((settled - seedStarted) / 1000)} s after seeding began`);

  // 1. The limits.
  log('raw create limit: probing concurrency');
  const probeSize = Math.min(500, Math.max(50, Math.round(N / 10)));
  const probeNamespaces: string[] = [];
  const probe = await probeCreateConcurrency(target, (c) => {
    const ns = `${run}-probe-${c}`;
    probeNamespaces.push(ns);
    return { namespaces: [ns], objects: byKind(mix.objects.slice(0, probeSize)).map((o) => inNamespace(o, ns)) };
  }, CREATE_CONCURRENCY);
  for (const t of probe.tried) log(`  concurrency ${t.concurrency}: ${round(t.perSecond)} objects/s`);
  const rawNamespaces = mix.namespaces.map((ns) => `${ns}-raw`);
  const rawObjects: BenchObject[] = byKind(mix.objects).map((o) => inNamespace(o, `${o.namespace}-raw`));
  const rawCreate = await createAll(target, rawNamespaces, rawObjects, probe.best);
  log(`raw create: ${rawCreate.objects} objects in ${round(rawCreate.seconds)} s = ${round(rawCreate.perSecond)}/s at concurrency ${probe.best}`);

  log('raw list + put limit');
  const collections = mix.namespaces.flatMap((ns) => [
    `/api/v1/namespaces/${ns}/configmaps`, `/api/v1/namespaces/${ns}/secrets`, `/api/v1/namespaces/${ns}/services`,
    `/apis/apps/v1/namespaces/${ns}/deployments`, `/apis/bench.kubeferry.dev/v1/namespaces/${ns}/widgets`,
  ]);
  const listPuts: Rate[] = [];
  for (const c of LIST_CONCURRENCY) {
    listPuts.push(await listAndPut(source, collections, { store, bucket, prefix: `${prefix}/raw/${c}` }, c));
    log(`  concurrency ${c}: ${listPuts.at(-1)!.objects} objects in ${round(listPuts.at(-1)!.seconds, 2)} s = ${round(listPuts.at(-1)!.perSecond)}/s`);
  }
  const rawListPut = listPuts.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

  log('removing what the raw runs created in the target (and waiting until it is gone)');
  const cleanupStarted = Date.now();
  await deleteNamespacesAndWait(target, [...probeNamespaces, ...rawNamespaces]);
  log(`  gone in ${round((Date.now() - cleanupStarted) / 1000)} s`);
  report.raw = {
    createPerSecond: round(rawCreate.perSecond), createSeconds: round(rawCreate.seconds, 2), createConcurrency: probe.best,
    createProbe: probe.tried.map((t) => ({ concurrency: t.concurrency, perSecond: round(t.perSecond) })),
    createByKind: rawCreate.byKind,
    listPutPerSecond: round(rawListPut.perSecond), listPutSeconds: round(rawListPut.seconds, 2), listPutConcurrency: rawListPut.concurrency,
    listPutObjects: rawListPut.objects,
  };

  // 2. kubeferry, in a worker process of its own.
  const worker = await startWorkerProcess(repoRoot, benchWorkerConfig(), taskQueue, path.join(work, 'worker.log'));
  const memory = memoryByPhase(worker);
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  const storage = { bucket, prefix };
  const base: MigrationRequestInput = {
    source: { cluster: 'source' }, target: { cluster: 'target' }, storage,
    namespaces: { include: mix.namespaces },
    readiness: { pollInterval: '1s', timeout: '20m' },
  };
  try {
    // A worker's first workflow task loads the workflow bundle into its sandbox (~0.2 s): done here with a
    // small workflow, as a long-running worker did long before any migration.
    await listBackups(client, taskQueue, storage);
    memory.phase('backup');
    log('kubeferry backup');
    const backup = await timed(startBackup(client, taskQueue, `${run}-backup`, base));
    const backupHistory = await historyOf(backup.handle);
    const backupSpan = activitySpanMs(backupHistory.history, ['backupResources'])!;
    const backupSeconds = (backupSpan + (activityScheduledMs(backupHistory.history, 'backupResources') - startedMs(backupHistory.history))) / 1000;
    const backedUp = backup.result.progress.objects.backedUp;
    log(`  ${backedUp} objects in ${round(backupSeconds, 2)} s = ${round(backedUp / backupSeconds)}/s (whole task ${round(backup.seconds, 2)} s)`);
    report.backup = {
      objects: backedUp, seconds: round(backupSeconds, 2), objectsPerSecond: round(backedUp / backupSeconds), taskSeconds: round(backup.seconds, 2),
      activitySeconds: round(backupSpan / 1000, 2), historyEvents: backupHistory.events,
    };

    memory.phase('restore');
    log('kubeferry restore');
    const restore = await timed(startRestore(client, taskQueue, `${run}-restore`, { ...base, backupId: `${run}-backup` }));
    const restoreHistory = await historyOf(restore.handle);
    const writeMs = activitySpanMs(restoreHistory.history, ['preflightRestore', 'restoreWave'])!;
    const wavesMs = activitySpanMs(restoreHistory.history, ['restoreWave'])!;
    const o = restore.result.progress.objects;
    const restored = o.restored + o.updated + o.skipped;
    log(`  ${restored} objects (${o.restored} created, ${o.skipped} already there) in ${round(writeMs / 1000, 2)} s = ${round(restored / (writeMs / 1000))}/s; waves ${round(wavesMs / 1000, 2)} s; whole task with readiness ${round(restore.seconds, 1)} s`);
    report.restore = {
      objects: restored, created: o.restored, skipped: o.skipped, failed: o.failed, waves: restore.result.progress.waves.total,
      seconds: round(writeMs / 1000, 2), objectsPerSecond: round(restored / (writeMs / 1000)),
      wavesSeconds: round(wavesMs / 1000, 2), wavesObjectsPerSecond: round(restored / (wavesMs / 1000)),
      taskSeconds: round(restore.seconds, 1), historyEvents: restoreHistory.events,
      steps: activityRuns(restoreHistory.history, ['preflightRestore', 'restoreWave']).map((r) => ({ what: r.summary, seconds: round(r.seconds, 2) })),
    };

    memory.phase('migrate');
    log('kubeferry migrate (a new backup, a restore into namespaces of its own, readiness, traffic)');
    await haproxy.setWeight(0);
    const sampler = sampleWeights();
    const routeWorkload = mix.objects.find((x) => x.kind === 'Deployment')!;
    const migrationId = `${run}-migrate`;
    const migrateStarted = Date.now();
    const handle = await startMigration(client, taskQueue, migrationId, {
      ...base,
      backupId: `${run}-migrate`,
      namespaces: { include: mix.namespaces, mapping: mix.namespaces.map((ns) => `${ns}:${ns}-m`) },
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: [`${routeWorkload.namespace}/${routeWorkload.name}`] }],
      traffic: { steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }], stepInterval: '2s', observeFor: '30m' },
    });
    await waitFor('all traffic on the target', async () => (sampler.samples.at(-1)?.[1] === 100 ? true : undefined), 60 * 60_000);
    const migrateSeconds = (sampler.samples.at(-1)![0] - migrateStarted) / 1000;
    log(`  all traffic on the target ${round(migrateSeconds, 1)} s after the start`);
    await waitFor('the observation window', async () => ((await getProgress(client, migrationId)).step.index === 3 ? true : undefined), 60_000, 200);

    memory.phase('rollback');
    const rollbackSent = Date.now();
    await rollbackMigration(client, migrationId, { reason: 'benchmark' });
    await waitFor('all traffic back on the source', async () => (sampler.samples.at(-1)?.[1] === 0 ? true : undefined), 60_000, 5);
    const rollbackSeconds = (sampler.samples.at(-1)![0] - rollbackSent) / 1000;
    const final = (await handle.result()) as MigrationResult;
    await sampler.stop();
    log(`  rollback: all traffic on the source ${round(rollbackSeconds, 3)} s after the signal; migration ${final.status}`);
    const migrateHistory = await historyOf(handle);
    const delays = stepApplyDelays(migrateHistory.history, sampler.samples);
    if (delays.length !== 2) throw new Error(`expected 2 timer-driven steps in the history, found ${delays.length}`);
    memory.stop();
    const peak = worker.peakRssMB();
    report.migrate = { seconds: round(migrateSeconds, 1), status: final.status, objects: final.progress.objects.backedUp };
    report.history = { events: migrateHistory.events, bytes: migrateHistory.bytes };
    report.worker = { peakRssMB: round(peak), peakRssMBByPhase: Object.fromEntries(Object.entries(memory.peaks).map(([k, v]) => [k, round(v)])) };
    report.traffic = {
      stepApplySeconds: round(Math.max(...delays) / 1000, 3), stepApplySecondsEach: delays.map((d) => round(d / 1000, 3)),
      rollbackSeconds: round(rollbackSeconds, 3), weightsSeen: sampler.samples.map(([, w]) => w),
    };
    report.settings = { qps: QPS, restoreConcurrency: 'worker default', requestSteps: [25, 50, 100], stepInterval: '2s' };
  } finally {
    memory.stop();
    await worker.stop();
    await connection.close();
  }
  report.finishedAt = new Date().toISOString();
  printTable(report);
  if (args.json) {
    fs.writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${args.json}`);
  }
  if (!args.keep) {
    log('cleaning up (namespaces in both clusters, the S3 prefix)');
    await cleanup(mix.namespaces);
  }
}

/**
 * The direct client creates kind by kind, in the order of kubeferry's waves (config, then workloads, then
 * what selects them): the order the API server and its controllers take best, so the limit is not lowered
 * by an order kubeferry would not use.
 */
const KIND_ORDER = ['ConfigMap', 'Secret', 'Deployment', 'Service', 'Widget'];
const byKind = (objects: readonly BenchObject[]) => [...objects].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));

function activityScheduledMs(history: proto.temporal.api.history.v1.IHistory, type: string): number {
  const e = (history.events ?? []).find((x) => x.activityTaskScheduledEventAttributes?.activityType?.name === type);
  if (!e?.eventTime) throw new Error(`no ${type} activity in the history`);
  return Number(e.eventTime.seconds ?? 0) * 1000 + Math.round((e.eventTime.nanos ?? 0) / 1e6);
}

async function timed(started: Promise<WorkflowHandle<typeof migrateCluster>>) {
  const t0 = Date.now();
  const handle = await started;
  const result = (await handle.result()) as MigrationResult;
  return { handle, result, seconds: (Date.now() - t0) / 1000 };
}

async function cleanup(namespaces: string[]) {
  await Promise.all([
    deleteNamespacesAndWait(source, namespaces),
    deleteNamespacesAndWait(target, [...namespaces, ...namespaces.map((ns) => `${ns}-m`)]),
  ]);
  for (const key of await store.list(bucket, `${prefix}/`)) await store.delete(bucket, key);
  // The stack as it was: its two nodes (tests count on them: a DaemonSet runs a pod on each) and its own
  // Service range. The extra range goes once its addresses are released with the Services.
  for (const rest of [source, target]) {
    const nodes = await rest.get<{ items: { metadata: { name: string } }[] }>('/api/v1/nodes');
    for (const n of nodes.items.filter((x) => x.metadata.name.startsWith('bench-node-'))) await rest.request('DELETE', `/api/v1/nodes/${n.metadata.name}`);
    await rest.request('DELETE', '/apis/networking.k8s.io/v1/servicecidrs/bench-services').catch(() => undefined);
  }
}

function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memoryGB: round(os.totalmem() / 2 ** 30), node: process.version, kernel: os.release() };
}

function printTable(r: Record<string, unknown>) {
  const get = (p: string) => p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r);
  const rows: [string, string, string][] = [
    ['objects', String(get('objects')), ''],
    ['raw.createPerSecond', String(get('raw.createPerSecond')), `concurrency ${get('raw.createConcurrency')}`],
    ['restore.objectsPerSecond', String(get('restore.objectsPerSecond')), `${pct(get('restore.objectsPerSecond'), get('raw.createPerSecond'))} of raw create (target >= 80 %)`],
    ['raw.listPutPerSecond', String(get('raw.listPutPerSecond')), `concurrency ${get('raw.listPutConcurrency')}`],
    ['backup.objectsPerSecond', String(get('backup.objectsPerSecond')), `${pct(get('backup.objectsPerSecond'), get('raw.listPutPerSecond'))} of raw list + put (target >= 80 %)`],
    ['migrate.seconds', String(get('migrate.seconds')), 'start to all traffic on the target'],
    ['history.events', String(get('history.events')), 'the migrate run, rollback included'],
    ['history.bytes', String(get('history.bytes')), ''],
    ['worker.peakRssMB', String(get('worker.peakRssMB')), 'target < 512'],
    ['traffic.stepApplySeconds', String(get('traffic.stepApplySeconds')), 'timer fired to weight read on HAProxy (worst step)'],
    ['traffic.rollbackSeconds', String(get('traffic.rollbackSeconds')), 'signal to all traffic on the source (target <= 2)'],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  const v = Math.max(...rows.map((x) => x[1].length));
  console.log('');
  for (const [k, val, note] of rows) console.log(`  ${k.padEnd(w)}  ${val.padStart(v)}  ${note}`);
  console.log('');
}

const pct = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? `${Math.round((100 * a) / b)} %` : '?');

main().then(
  () => { source.close(); target.close(); process.exit(0); },
  (err: unknown) => { console.error(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`); process.exit(1); },
);
