// History stays small whatever the object count, and a restore wave resumes from its heartbeated cursor
// without redoing or double-counting finished objects. On the real local stack.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { decodeArchive, type BackupManifest, type RawObject, type StoredPlan } from '../../src/store/backup-format.js';
import type { RestoreWaveResult } from '../../src/activities/contract.js';
import { createActivities, depsFromConfig } from '../../src/activities/index.js';
import type { KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { forEachConcurrently } from '../../src/concurrency.js';
import { startMigration } from '../../src/client.js';
import type { WorkerConfig } from '../../src/config/worker-config.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import { kubeconfigFrom, stackEnv, startStackWorker, type StackWorker } from '../support/stack.js';

const env = stackEnv();
const run = `sc-${randomBytes(3).toString('hex')}`;
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };
const small = [`${run}-small`];
const big = [0, 1, 2, 3].map((i) => `${run}-big-${i}`);
const resumed = big.map((ns) => `${ns}-r`);
const PER_BIG_NAMESPACE = 500;

let stack: StackWorker;
let config: WorkerConfig;
let source: KubeRest;
let target: KubeRest;
let client: Client;
const kubeconfig = kubeconfigFrom;

async function seed(namespace: string, count: number): Promise<void> {
  await source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: namespace } } });
  const names = Array.from({ length: count }, (_, i) => `cm-${String(i).padStart(5, '0')}`);
  await forEachConcurrently(names, async (name) => {
    await source.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, { body: { metadata: { name, labels: { batch: run } }, data: { value: name.repeat(8) } } });
  }, 32);
}

before(async () => {
  stack = await startStackWorker(run);
  ({ config, source, target, client } = stack);
  await seed(small[0]!, 20);
  for (const ns of big) await seed(ns, PER_BIG_NAMESPACE);
});

after(async () => {
  await stack?.stop();
  await deleteNamespaces(kubeconfig(env.SOURCE_KUBECONFIG!), [...small, ...big]).catch(() => undefined);
  await deleteNamespaces(kubeconfig(env.TARGET_KUBECONFIG!), [...small, ...big, ...resumed]).catch(() => undefined);
});

const migrate = async (id: string, namespaces: string[]) => {
  const handle = await startMigration(client, config.temporal.taskQueue, id, {
    source: { cluster: 'source' }, target: { cluster: 'target' }, storage, namespaces: { include: namespaces },
    readiness: { pollInterval: '1s', timeout: '1m' },
  });
  const result = await handle.result();
  const history = await handle.fetchHistory();
  return { result, events: history.events?.length ?? 0, bytes: JSON.stringify(history).length };
};

const countConfigMaps = async (rest: KubeRest, namespace: string, labelSelector?: string) => {
  let n = 0;
  let cont: string | undefined;
  do {
    const page = await rest.get<{ items: unknown[]; metadata?: { continue?: string } }>(`/api/v1/namespaces/${namespace}/configmaps`, { query: { limit: 500, continue: cont, labelSelector } });
    n += page.items.length;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return n;
};

describe('scale on the local stack', () => {
  it('keeps the history of a 2,000-object migration as small as that of a 20-object one', async () => {
    const few = await migrate(`${run}-few`, small);
    const many = await migrate(`${run}-many`, big);
    assert.equal(few.result.status, 'Completed');
    assert.equal(many.result.status, 'Completed', JSON.stringify(many.result.progress.errors));
    assert.equal(many.result.progress.objects.restored, big.length * (PER_BIG_NAMESPACE + 1));
    for (const ns of big) assert.equal(await countConfigMaps(target, ns, `batch=${run}`), PER_BIG_NAMESPACE);
    console.log(`history: 20 objects -> ${few.events} events, ${few.bytes} bytes; 2,000 objects -> ${many.events} events, ${many.bytes} bytes`);
    // The same waves (Namespaces, ConfigMaps), so the same activities: not one event more for 100x the objects.
    assert.equal(many.events, few.events);
    assert.ok(many.events < 80, `${many.events} events`);
    assert.ok(many.bytes < 3 * few.bytes, `history grew from ${few.bytes} to ${many.bytes} bytes`);
  });

  it('resumes a restore wave from its heartbeated cursor: finished objects are neither redone nor counted twice', async () => {
    const backupId = `${run}-many`;
    const store = new ObjectStore(config.storage);
    const manifest = JSON.parse((await store.get(storage.bucket, `${storage.prefix}/backups/${backupId}/manifest.json`))!.toString()) as BackupManifest;
    const plan = JSON.parse((await store.get(storage.bucket, manifest.plan.key))!.toString()) as StoredPlan;
    const wave = plan.waves.findIndex((ids) => ids[0]!.startsWith('ConfigMap/'));
    const namespaceMapping = Object.fromEntries(big.map((ns, i) => [ns, resumed[i]!]));
    const activities = createActivities(depsFromConfig(config));
    const input = (w: number) => ({
      migrationId: `${run}-resume`, backupId, target: 'target', storage, wave: w, kinds: [], existingObjects: 'skip' as const, namespaceMapping, keepNodePorts: false,
    });
    await new MockActivityEnvironment().run(activities.restoreWave, input(0));

    // A worker died in the middle of the ConfigMap wave: 400 objects were done and heartbeated, and 20
    // more of the next chunk were created before it died.
    const archive = manifest.archives.find((a) => a.type === 'configmaps')!;
    const objects = decodeArchive((await store.get(storage.bucket, archive.key))!).filter((o) => o.metadata?.labels?.batch === run);
    assert.equal(objects.length, big.length * PER_BIG_NAMESPACE);
    const done = 400;
    for (const o of objects.slice(done, done + 20)) {
      const ns = namespaceMapping[o.metadata!.namespace!]!;
      await target.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
        body: { metadata: { name: o.metadata!.name, labels: { [MIGRATION_ID_LABEL]: `${run}-resume` } }, data: (o as RawObject & { data: object }).data },
      });
    }
    const cursor = { archive: 0, offset: done, result: { wave, created: done, skipped: 0, updated: 0, failed: 0, errors: [], differing: 0, differences: [] } satisfies RestoreWaveResult };
    const heartbeats: unknown[] = [];
    const env = new MockActivityEnvironment({ heartbeatDetails: cursor });
    env.on('heartbeat', (d) => heartbeats.push(d));
    const result = (await env.run(activities.restoreWave, input(wave))) as RestoreWaveResult;

    assert.equal(result.created, objects.length, JSON.stringify(result.errors));
    assert.equal(result.skipped, 0, 'objects of the interrupted chunk were counted as pre-existing');
    assert.equal(result.failed, 0);
    // The first 400 were not created again (they never were, in this test: a redo would have made them).
    let total = 0;
    for (const ns of resumed) total += await countConfigMaps(target, ns, `${MIGRATION_ID_LABEL}=${run}-resume`);
    assert.equal(total, objects.length - done);
    assert.ok(heartbeats.length >= Math.floor((objects.length - done) / 200), `${heartbeats.length} heartbeats`);
  });

  it('resumes a backup at the type after the last finished one, using what it stored of the finished types', async () => {
    const activities = createActivities(depsFromConfig(config));
    const store = new ObjectStore(config.storage);
    const input = {
      migrationId: `${run}-bk`, backupId: `${run}-bk`, source: 'source', storage,
      namespaces: { include: small, exclude: [] }, resources: { include: ['configmaps', 'serviceaccounts'], exclude: [] }, clusterResources: 'auto' as const,
    };
    // First attempt: finishes, then we take away the manifest and plan, as if the worker died after
    // ConfigMaps were done (its parts and index stay in S3).
    await new MockActivityEnvironment().run(activities.backupResources, input);
    const root = `${storage.prefix}/backups/${run}-bk`;
    await store.delete(storage.bucket, `${root}/manifest.json`);
    await store.delete(storage.bucket, `${root}/plan.json`);
    // Meanwhile the source changes: a resumed backup must not list ConfigMaps again...
    await source.request('POST', `/api/v1/namespaces/${small[0]}/configmaps`, { body: { metadata: { name: 'late' }, data: { a: 'b' } } });
    // ...but lists the types that were not finished.
    await source.request('POST', `/api/v1/namespaces/${small[0]}/serviceaccounts`, { body: { metadata: { name: 'late' } } });
    const heartbeats: { typesDone: string[] }[] = [];
    const env = new MockActivityEnvironment({ heartbeatDetails: { typesDone: ['configmaps'] } });
    env.on('heartbeat', (d: { typesDone: string[] }) => heartbeats.push(d));
    const summary = (await env.run(activities.backupResources, input)) as { kinds: { kind: string; count: number }[] };
    assert.deepEqual(summary.kinds, [{ kind: 'Namespace', count: 1 }, { kind: 'ConfigMap', count: 20 }, { kind: 'ServiceAccount', count: 1 }]);
    assert.deepEqual(heartbeats.at(-1)?.typesDone, ['configmaps', 'serviceaccounts']);
  });
});
