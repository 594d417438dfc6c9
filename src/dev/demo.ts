// The demo: migrates the sample app from the local "source" cluster to "target" under live HTTP load
// through HAProxy, with a second route that moves the weights of the app's Gateway API HTTPRoute in the
// target, printing progress, then a summary. Run by `npm run demo` once the stack is up; re-runnable.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { KubeRest } from '../kube/rest.js';
import { liveView } from '../cli/live-view.js';
import { styleFor } from '../cli/render.js';
import { describeBackup, rootMessage, startMigration, watchMigration } from '../client.js';
import { loadWorkerConfig, readEnvFile } from '../config/worker-config.js';
import { formatDuration } from '../domain/duration.js';
import type { MigrationRequestInput } from '../domain/request.js';
import { GatewayApiRouter } from '../routers/gateway-api.js';
import { HaproxyRouter } from '../routers/haproxy.js';
import type { MigrationResult } from '../workflows/migrate-cluster.js';
import { createWorker } from '../worker.js';
import { startLoad, waitServing } from './load.js';
import { deleteClusterObjects, deleteNamespaces, seedSampleApp, waitAvailable } from './sample-app.js';

const stackDir = process.env.KUBEFERRY_STATE ?? path.resolve(import.meta.dirname, '../../.stack');
const env = readEnvFile(path.join(stackDir, 'stack.env'));
const storage = { bucket: 'kubeferry', prefix: 'demo' };

const kubeconfig = (file: string) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until what an earlier demo left in the target (namespaces, the app's cluster-scoped objects) is gone. */
async function waitGone(kc: k8s.KubeConfig, namespaces: string[], clusterObjects: string[], timeoutMs = 90_000) {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const crds = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const exists = (read: Promise<unknown>) => read.then(() => true, (err: { code?: number }) => err.code !== 404);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checks = [
      ...namespaces.map((name) => [`Namespace/${name}`, exists(core.readNamespace({ name }))] as const),
      ...clusterObjects.map((id) => {
        const [kind, name] = id.split('/') as [string, string];
        return [id, exists(kind === 'ClusterRole' ? rbac.readClusterRole({ name }) : crds.readCustomResourceDefinition({ name }))] as const;
      }),
    ];
    const left = (await Promise.all(checks.map(async ([id, present]) => ((await present) ? id : undefined)))).filter(Boolean);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still being deleted in the target: ${left.join(', ')}`);
    await sleep(500);
  }
}

/** Live progress until the migration ends; the one place that renders it. */
function followMigration(client: Client, migrationId: string): Promise<MigrationResult> {
  const style = styleFor(process.stdout);
  return watchMigration(client, migrationId, { intervalMs: 500, onProgress: liveView({ style, redraw: Boolean(process.stdout.isTTY), indent: '   ' }) });
}

/** "a 1, b 2, ..." wrapped to lines of at most `width` characters, continuation lines indented. */
function wrap(items: string[], indent: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    const next = line ? `${line}, ${item}` : item;
    if (line && indent.length + next.length > width) {
      lines.push(`${line},`);
      line = item;
    } else {
      line = next;
    }
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadWorkerConfig(env.KUBEFERRY_CONFIG);
  const source = kubeconfig(env.SOURCE_KUBECONFIG!);
  const target = kubeconfig(env.TARGET_KUBECONFIG!);
  const haproxy = new HaproxyRouter({ socket: env.HAPROXY_ADMIN_SOCKET }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });
  const webUrl = `${env.HAPROXY_URL}/shop/web/`;
  const demoStarted = Date.now();

  console.log('1. seeding the sample app in the source cluster');
  const app = await seedSampleApp(source);
  const route = app.httpRoute!;
  const seeded = Object.values(app.kinds).reduce((a, b) => a + b, 0);
  console.log(`   ${seeded} objects in namespaces ${app.namespaces.join(', ')} and cluster-wide:`);
  console.log(`   ${wrap(Object.entries(app.kinds).map(([kind, n]) => `${kind} ${n}`), '   ')}`);
  await waitAvailable(source, app.workloads);
  console.log(`   workloads ready in the source: ${app.workloads.join(', ')}`);
  console.log('   clearing what an earlier demo left in the target; all traffic to the source');
  await deleteNamespaces(target, app.namespaces);
  await deleteClusterObjects(target, app.clusterObjects);
  await waitGone(target, app.namespaces, app.clusterObjects);
  await haproxy.setWeight(0);
  await waitServing(webUrl);
  const preparedIn = Date.now() - demoStarted;

  const worker = await createWorker(config, await NativeConnection.connect({ address: config.temporal.address }));
  const workerRun = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });

  const migrationId = `demo-${Date.now().toString(36)}`;
  const webUi = `${env.TEMPORAL_UI_URL}/namespaces/${config.temporal.namespace}/workflows/${migrationId}`;
  const request: MigrationRequestInput = {
    source: { cluster: 'source' },
    target: { cluster: 'target' },
    storage,
    namespaces: { include: app.namespaces },
    routes: [
      { name: 'web', router: 'haproxy', backend: 'web', workloads: [`${app.webNamespace}/web`] },
      {
        name: 'web-gateway', router: 'gateway-api', cluster: 'target', namespace: route.namespace, httpRoute: route.name,
        sourceBackend: route.sourceBackend, targetBackend: route.targetBackend, workloads: [`${app.webNamespace}/web`],
      },
    ],
    traffic: { steps: [10, 25, 50, 100], stepInterval: '3s' },
    readiness: { pollInterval: '1s', timeout: '2m' },
  };
  console.log(`2. migrating under live HTTP load (${webUrl} through HAProxy): ${migrationId}`);
  console.log(`   routes: web (HAProxy backend web), web-gateway (HTTPRoute ${route.namespace}/${route.name} in the target: ` +
    `${route.sourceBackend} -> ${route.targetBackend})`);
  console.log(`   Web UI: ${webUi}`);
  const load = startLoad(webUrl, { concurrency: 4, maxSeconds: 600 });
  const started = Date.now();
  await startMigration(client, config.temporal.taskQueue, migrationId, request);
  const result = await followMigration(client, migrationId);
  const migratedIn = Date.now() - started;
  await sleep(1000);
  const traffic = await load.stop();
  const backup = result.backupId ? await describeBackup(client, config.temporal.taskQueue, storage, result.backupId) : undefined;
  worker.shutdown();
  await workerRun;

  // Both weights read back from the routers themselves, not from the workflow's progress.
  const rest = new KubeRest(target);
  const gateway = new GatewayApiRouter(rest, { namespace: route.namespace, httpRoute: route.name, sourceBackend: { name: route.sourceBackend }, targetBackend: { name: route.targetBackend } });
  const httpRoute = await rest.get<{ spec?: { rules?: { backendRefs?: { name?: string; weight?: number }[] }[] } }>(
    `/apis/gateway.networking.k8s.io/v1/namespaces/${route.namespace}/httproutes/${route.name}`,
  ).catch(() => undefined);
  const refs = (httpRoute?.spec?.rules ?? []).map((r) => (r.backendRefs ?? []).map((b) => `${b.name}=${b.weight ?? 1}`).join(' ')).join('; ');
  const gatewayRead = await gateway.getWeight().then((w) => w, (err: unknown) => `unreadable (${String(err)})`);
  const gatewayWeight = typeof gatewayRead === 'number' ? `${gatewayRead}%` : gatewayRead;
  const haproxyWeight = await haproxy.getWeight();
  rest.close();

  const p = result.progress;
  console.log('\n3. summary');
  console.log(`   status:            ${result.status}${p.errors.length ? ` (errors: ${p.errors.join('; ')})` : ''}`);
  console.log(`   time:              ${formatDuration(migratedIn)} migrating (backup, restore, readiness, traffic), ${formatDuration(preparedIn)} seeding and clearing before`);
  console.log(`   objects:           ${p.objects.backedUp} backed up to s3://${storage.bucket}/${storage.prefix}/backups/${result.backupId}, ` +
    `${p.objects.restored} restored, ${p.objects.skipped} already there, ${p.objects.failed} failed`);
  const indent = ' '.repeat(22);
  if (backup) {
    // In restore order: by the first wave that holds the kind.
    const firstWave = (kind: string) => backup.waves.find((w) => w.kinds.includes(kind))?.index ?? backup.waves.length;
    const kinds = [...backup.kinds].sort((a, b) => firstWave(a.kind) - firstWave(b.kind) || a.kind.localeCompare(b.kind));
    console.log(`   by kind:           ${wrap(kinds.map((k) => `${k.kind} ${k.count}`), indent)}`);
    const leftOut = Object.entries(p.leftOut ?? backup.leftOut);
    if (leftOut.length) console.log(`   left out:          ${wrap(leftOut.map(([reason, n]) => `${n} ${reason}`), indent)}`);
  }
  console.log(`   waves:             ${p.waves.done}/${p.waves.total}${p.plan?.brokenCycles ? `, ${p.plan.brokenCycles} reference cycles broken` : ''}`);
  for (const w of backup?.waves ?? []) {
    console.log(`${indent}${String(w.index + 1).padStart(2)}. ${String(w.count).padStart(3)} ${w.count === 1 ? 'object ' : 'objects'} ${w.kinds.join(', ')}`);
  }
  console.log(`   ready workloads:   ${p.readiness.ready}/${p.readiness.total} in the target`);
  console.log(`   HAProxy web:       ${haproxyWeight}% to the target (read back from the runtime API)`);
  console.log(`   ${`HTTPRoute ${route.namespace}/${route.name}: `.padEnd(19)}${gatewayWeight} to the target (read back from the target cluster: ${refs || 'not found'})`);
  console.log(`   requests:          ${traffic.requests} (source ${traffic.byCluster.source ?? 0}, target ${traffic.byCluster.target ?? 0}), failed ${traffic.failed}`);
  // The web tier runs on the clusters' real nodes: each answer names the pod that served it.
  const pods = (cluster: string) => Object.entries(traffic.byPod).filter(([p]) => p.startsWith(`${cluster}/`)).map(([p, n]) => `${p.slice(cluster.length + 1)} ${n}`);
  console.log(`   served by pods:    ${wrap([...pods('source').map((p) => `source ${p}`), ...pods('target').map((p) => `target ${p}`)], indent)}`);
  if (traffic.failed > 0) {
    // When they happened (seconds since the load started) says which phase to look at in the Web UI.
    const at = traffic.timeline.filter(([, c]) => c === 'error').map(([t]) => t);
    const distinct = [...new Set(traffic.failures)];
    console.log(`   failures:          ${traffic.failed} between ${formatDuration(Math.min(...at))} and ${formatDuration(Math.max(...at))} after the load started: ` +
      `${distinct.slice(0, 3).join('; ')}`);
  }
  console.log(`   Web UI:            ${webUi}`);
  // The demo passes only when the whole job did: migrated, no request lost, all traffic on the target.
  const failures = [
    ...(result.status === 'Completed' ? [] : [`the migration ended ${result.status}, not Completed`]),
    ...(traffic.failed > 0 ? [`${traffic.failed} requests failed`] : []),
    ...(haproxyWeight === 100 ? [] : [`HAProxy backend web reads back ${haproxyWeight}% to the target, not 100%`]),
    ...(gatewayRead === 100 ? [] : [`HTTPRoute ${route.namespace}/${route.name} reads back ${gatewayWeight} to the target, not 100%`]),
  ];
  if (failures.length) {
    console.error(`\ndemo FAILED: ${failures.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log('\ndemo passed: migrated, 0 failed requests, both routes at 100% target');
  }
}

/** Why the demo stopped: a failed migration's own cause (the activity's message), not "Workflow execution failed". */
function reason(err: unknown): string {
  const root = rootMessage(err);
  const top = err instanceof Error ? err.message : String(err);
  return root === top ? top : `${top}: ${root}`;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(`demo FAILED: ${reason(err)}`);
    process.exit(1);
  },
);
