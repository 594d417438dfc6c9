// The kubeferry worker: runs migration workflows and their activities. Cluster credentials, S3 keys and
// router endpoints are read here, from the worker config, and never travel through Temporal.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, depsFromConfig } from './activities/index.js';
import { workerDataConverter } from './codec/data-converter.js';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from './config/worker-config.js';
import { sharedKey } from './config/key-file.js';
import { loadPayloadKeyring } from './codec/keys.js';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export async function createWorker(config: WorkerConfig, connection?: NativeConnection): Promise<Worker> {
  // Read before connecting, so that a missing or malformed payload key file is the error reported.
  const dataConverter = workerDataConverter(config.payloadEncryption);
  const deps = depsFromConfig(config);
  const shared = deps.keys && config.payloadEncryption ? sharedKey(deps.keys, loadPayloadKeyring(config.payloadEncryption)) : undefined;
  if (shared) {
    // Whoever may read workflow data in the Web UI must not thereby hold the key to the Secrets in S3.
    throw new ConfigError(`backup key "${shared}" in ${deps.keys!.source} is also a payload key in ${config.payloadEncryption!.keyFile}: ` +
      "give payloads keys of their own ('npx tsx src/codec/keys.ts add <file>')");
  }
  // A bundle built ahead of time (npm run build:workflows) spares the worker webpack and its memory.
  const bundle = process.env.KUBEFERRY_WORKFLOW_BUNDLE;
  return Worker.create({
    connection: connection ?? (await NativeConnection.connect({ address: config.temporal.address })),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath }),
    activities: createActivities(deps),
    // Payload encryption (config payloadEncryption): off by default.
    ...(dataConverter ? { dataConverter } : {}),
    shutdownGraceTime: '10s',
    // Heartbeats reach the server at most this far apart (by default 80 % of the heartbeat timeout, 48 s):
    // a cancellation only arrives with one, so a rollback reaches a running restore within seconds, and a
    // resumed attempt redoes at most this much work.
    maxHeartbeatThrottleInterval: '3s',
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
