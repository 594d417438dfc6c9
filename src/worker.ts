// The kubeferry worker: runs migration workflows and their activities. Cluster credentials, S3 keys and
// router endpoints are read here, from the worker config, and never travel through Temporal.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, depsFromConfig } from './activities/index.js';
import { workerDataConverter } from './codec/data-converter.js';
import { loadWorkerConfig, type WorkerConfig } from './config/worker-config.js';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export async function createWorker(config: WorkerConfig, connection?: NativeConnection): Promise<Worker> {
  // Read before connecting, so that a missing or malformed payload key file is the error reported.
  const dataConverter = workerDataConverter(config.payloadEncryption);
  // A bundle built ahead of time (npm run build:workflows) spares the worker webpack and its memory.
  const bundle = process.env.KUBEFERRY_WORKFLOW_BUNDLE;
  return Worker.create({
    connection: connection ?? (await NativeConnection.connect({ address: config.temporal.address })),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath }),
    activities: createActivities(depsFromConfig(config)),
    // Payload encryption (config payloadEncryption): off by default.
    ...(dataConverter ? { dataConverter } : {}),
    shutdownGraceTime: '10s',
  });
}

async function main() {
  const config = loadWorkerConfig();
  const worker = await createWorker(config);
  const encryption = config.payloadEncryption ? `; payloads encrypted (keys in ${config.payloadEncryption.keyFile})` : '';
  console.log(`kubeferry worker: task queue "${config.temporal.taskQueue}" on ${config.temporal.address}; clusters: ${Object.keys(config.clusters).join(', ')}${encryption}`);
  await worker.run();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
