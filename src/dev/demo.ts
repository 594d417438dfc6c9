// The demo: migrates a sample app from the local "source" cluster to "target" under live HTTP load
// through HAProxy, printing progress, then a summary. Run by `npm run demo` once the stack is up.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startMigration, watchMigration } from '../client.js';
import { loadWorkerConfig, readEnvFile } from '../config/worker-config.js';
import { formatDuration } from '../domain/duration.js';
import { HaproxyRouter } from '../routers/haproxy.js';
import { createWorker } from '../worker.js';
import { startLoad, waitServing } from './load.js';
import { deleteNamespaces, seedSampleApp, waitAvailable } from './sample-app.js';

const stackDir = process.env.KUBEFERRY_STATE ?? path.resolve(import.meta.dirname, '../../.stack');
const env = readEnvFile(path.join(stackDir, 'stack.env'));

const kubeconfig = (file: string) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
};

async function waitNamespacesGone(kc: k8s.KubeConfig, names: string[], timeoutMs = 90_000) {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = (await Promise.all(names.map((name) => core.readNamespace({ name }).then(() => name, () => undefined)))).filter(Boolean);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`namespaces still terminating in the target: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadWorkerConfig(env.KUBEFERRY_CONFIG);
  const source = kubeconfig(env.SOURCE_KUBECONFIG!);
  const target = kubeconfig(env.TARGET_KUBECONFIG!);
  const router = new HaproxyRouter({ socket: env.HAPROXY_ADMIN_SOCKET }, { backend: 'web', sourceServer: 'source', targetServer: 'target' });

  console.log('1. seeding the sample app in the source cluster (namespaces shop and billing)');
  const app = await seedSampleApp(source);
  await waitAvailable(source, app.workloads);
  console.log('   clearing what an earlier demo left in the target; all traffic to the source');
  await deleteNamespaces(target, app.namespaces);
  await waitNamespacesGone(target, app.namespaces);
  await router.setWeight(0);
  await waitServing(`${env.HAPROXY_URL}/shop/web/`);

  const worker = await createWorker(config, await NativeConnection.connect({ address: config.temporal.address }));
  const workerRun = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });

  const migrationId = `demo-${Date.now().toString(36)}`;
  console.log(`2. migrating under live HTTP load: ${migrationId}`);
  console.log(`   Web UI: ${env.TEMPORAL_UI_URL}/namespaces/default/workflows/${migrationId}`);
  const load = startLoad(`${env.HAPROXY_URL}/shop/web/`, { concurrency: 4, maxSeconds: 600 });
  const started = Date.now();
  await startMigration(client, config.temporal.taskQueue, migrationId, {
    source: { cluster: 'source' },
    target: { cluster: 'target' },
    storage: { bucket: 'kubeferry', prefix: 'demo' },
    namespaces: { include: app.namespaces },
    routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] }],
    traffic: { steps: [10, 25, 50, 100], stepInterval: '3s' },
    readiness: { pollInterval: '1s', timeout: '2m' },
  });
  const result = await watchMigration(client, migrationId, { indent: '   ', intervalMs: 500 });
  await new Promise((r) => setTimeout(r, 1000));
  const traffic = await load.stop();
  worker.shutdown();
  await workerRun;

  const p = result.progress;
  console.log('\n3. summary');
  console.log(`   status:            ${result.status}`);
  console.log(`   time:              ${formatDuration(Date.now() - started)}`);
  console.log(`   objects:           ${p.objects.backedUp} backed up to s3://kubeferry/demo/backups/${result.backupId}, ${p.objects.restored} restored, ${p.objects.skipped} already there, ${p.objects.failed} failed`);
  console.log(`   waves:             ${p.waves.done}/${p.waves.total}`);
  console.log(`   ready workloads:   ${p.readiness.ready}/${p.readiness.total}`);
  console.log(`   HAProxy web:       ${await router.getWeight()}% to the target (read back from the runtime API)`);
  console.log(`   requests:          ${traffic.requests} (source ${traffic.byCluster.source ?? 0}, target ${traffic.byCluster.target ?? 0}), failed ${traffic.failed}`);
  console.log(`   Web UI:            ${env.TEMPORAL_UI_URL}/namespaces/default/workflows/${migrationId}`);
  if (result.status !== 'Completed' || traffic.failed > 0) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
