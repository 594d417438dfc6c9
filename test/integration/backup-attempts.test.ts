// Attempts of one backup beside each other, on the real source cluster and S3: an attempt that fails for
// good (here: its worker has no backup key, so it must not write Secrets) while another attempt of the
// same backup runs. Its cleanup of what it could not finish never takes away what the other one needs, and
// no manifest is ever written over parts that are gone. The activity runs in the SDK's activity
// environment so that each attempt's number and heartbeat are the test's to set; the store is the real
// one, with a gate that holds an attempt at a chosen write.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, depsFromConfig, type ActivityDeps } from '../../src/activities/index.js';
import type { BackupInput, BackupSummary } from '../../src/activities/contract.js';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker-config.js';
import { KubeRest } from '../../src/kube/rest.js';
import { loadArchive, readManifest } from '../../src/store/backup-store.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { FAILURE } from '../../src/domain/failures.js';
import { kubeconfigFrom, stackEnv } from '../support/stack.js';

const env = stackEnv();
const run = `ba-${randomBytes(3).toString('hex')}`;
const ns = `${run}-src`;
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };
const CONFIGMAPS = 30;
const SECRETS = 5;

let config: WorkerConfig;
let source: KubeRest;
const input = (backupId: string): BackupInput => ({
  migrationId: backupId, backupId, source: 'source', storage,
  namespaces: { include: [ns], exclude: [] }, resources: { include: ['configmaps', 'secrets'], exclude: [] }, clusterResources: 'exclude',
});
const root = (backupId: string) => `${storage.prefix}/backups/${backupId}/`;

/** A promise and what settles it. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}

/** The real store, holding the calls `hold` picks until their gate opens (`reached` opens as the first arrives). */
function gatedStore(hold: (method: 'put' | 'putIfAbsent', key: string) => 'before' | 'after' | undefined) {
  const real = new ObjectStore(config.storage);
  const reached = latch();
  const gate = latch();
  const store = Object.create(real) as ObjectStore;
  for (const method of ['put', 'putIfAbsent'] as const) {
    const original = real[method].bind(real) as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      const when = hold(method, args[1] as string);
      if (when === 'before') {
        reached.open();
        await gate.promise;
      }
      const answer = await original(...args);
      if (when === 'after') {
        reached.open();
        await gate.promise;
      }
      return answer;
    };
  }
  return { store, reached: reached.promise, open: gate.open };
}

const withKeys = (store?: ObjectStore): ActivityDeps => ({ ...depsFromConfig(config), ...(store ? { store } : {}) });
const withoutKeys = (store?: ObjectStore): ActivityDeps => {
  const { keys: _, ...deps } = withKeys(store);
  return deps;
};
const attempt = (deps: ActivityDeps, n: number, heartbeatDetails?: unknown, heartbeats?: unknown[]) => {
  const activityEnv = new MockActivityEnvironment({ attempt: n, ...(heartbeatDetails ? { heartbeatDetails } : {}) });
  if (heartbeats) activityEnv.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return (backupId: string) => activityEnv.run(createActivities(deps).backupResources, input(backupId)) as Promise<BackupSummary>;
};

/** Reads the backup back as a restore would (manifest authenticated, every archive checked) and counts the test's objects by type. */
async function validBackup(backupId: string): Promise<Record<string, number>> {
  const deps = withKeys();
  const manifest = await readManifest(deps.store, storage, backupId, deps.keys);
  const counts: Record<string, number> = {};
  for (const archive of manifest.archives) {
    const objects = await loadArchive(deps.store, storage, manifest, archive, deps.keys);
    counts[archive.type] = (counts[archive.type] ?? 0) + objects.filter((o) => o.metadata?.labels?.batch === run || (o.kind === 'Namespace' && o.metadata?.name === ns)).length;
  }
  return counts;
}

async function rejection(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(() => assert.fail('expected the attempt to fail'), (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, `not an ApplicationFailure: ${String(err)}`);
  return err;
}

describe('attempts of one backup beside each other', () => {
  before(async () => {
    config = loadWorkerConfig(env.KUBEFERRY_CONFIG!);
    source = new KubeRest(kubeconfigFrom(env.SOURCE_KUBECONFIG!));
    await source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    for (let i = 0; i < CONFIGMAPS; i++) {
      await source.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: `cm-${i}`, labels: { batch: run } }, data: { i: String(i) } } });
    }
    for (let i = 0; i < SECRETS; i++) {
      await source.request('POST', `/api/v1/namespaces/${ns}/secrets`, { body: { metadata: { name: `s-${i}`, labels: { batch: run } }, stringData: { i: String(i) } } });
    }
  });
  after(async () => {
    await source?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    const store = new ObjectStore(config.storage);
    for (const key of await store.list(storage.bucket, `${storage.prefix}/`)) await store.delete(storage.bucket, key);
    source?.close();
  });

  it('an attempt that fails for good while a later attempt of the backup runs leaves the later one its parts: the later attempt writes a valid backup', async () => {
    const id = `${run}-later`;
    // Attempt 1 has begun (its start is marked) and waits; attempt 2 starts beside it and collects
    // everything; at its manifest write attempt 1 goes on, and fails on the Secrets it has no key for.
    const first = gatedStore((method, key) => (method === 'put' && key.includes('/attempts/') ? 'after' : undefined));
    const failing = attempt(withoutKeys(first.store), 1)(id);
    await first.reached;
    const second = gatedStore((method, key) => (method === 'putIfAbsent' && key.endsWith('/manifest.json') ? 'before' : undefined));
    const finishing = attempt(withKeys(second.store), 2)(id);
    await second.reached;
    first.open();
    assert.equal((await rejection(failing)).type, FAILURE.EncryptionKeyMissing);
    second.open();
    const summary = await finishing;
    assert.deepEqual(await validBackup(id), { namespaces: 1, configmaps: CONFIGMAPS, secrets: SECRETS });
    assert.ok(summary.objects >= CONFIGMAPS + SECRETS);
  });

  it('an attempt that fails for good with no attempt after it removes what the attempts wrote, and an earlier attempt still running writes no manifest over it', async () => {
    const id = `${run}-last`;
    // Attempt 1 (a worker cut off from Temporal) has written every part and its plan, and is about to
    // write the manifest; attempt 2, the one Temporal knows of, resumes from its heartbeat and fails for good.
    const heartbeats: unknown[] = [];
    const zombie = gatedStore((method, key) => (method === 'put' && key.endsWith('/plan-attempt-1.json') ? 'after' : undefined));
    const late = attempt(withKeys(zombie.store), 1, undefined, heartbeats)(id);
    await zombie.reached;
    const store = new ObjectStore(config.storage);
    assert.ok((await store.list(storage.bucket, root(id))).some((k) => k.includes('/resources/secrets/attempt-1-')), 'attempt 1 wrote its Secret part');
    assert.equal((await rejection(attempt(withoutKeys(), 2, heartbeats.at(-1))(id))).type, FAILURE.EncryptionKeyMissing);
    assert.deepEqual(await store.list(storage.bucket, root(id)), [], 'what the attempts wrote is gone');
    zombie.open();
    const refused = await rejection(late);
    assert.equal(refused.type, FAILURE.BackupPartsRemoved);
    assert.equal(refused.nonRetryable, false);
    assert.match(refused.message, /was removed while attempt 1 of the backup ran .*no manifest was written/);
    assert.deepEqual(await store.list(storage.bucket, root(id)), [], 'nothing written after the removal');
  });

  it('an attempt that resumes from types whose parts were removed meanwhile collects those types again and writes a valid backup', async () => {
    const id = `${run}-resume`;
    const heartbeats: unknown[] = [];
    // Attempt 1 finishes every type, then its worker is lost before the manifest (the write never happens).
    const lost = gatedStore((method, key) => (method === 'putIfAbsent' && key.endsWith('/manifest.json') ? 'before' : undefined));
    const stalled = attempt(withKeys(lost.store), 1, undefined, heartbeats)(id).catch(() => undefined);
    await lost.reached;
    const store = new ObjectStore(config.storage);
    const removed = (await store.list(storage.bucket, root(id))).filter((k) => k.includes('/resources/configmaps/attempt-1-'));
    assert.ok(removed.length > 0);
    for (const key of removed) await store.delete(storage.bucket, key);

    await attempt(withKeys(), 2, heartbeats.at(-1))(id);
    const manifest = await readManifest(store, storage, id, withKeys().keys);
    const byAttempt = new Map(manifest.archives.map((a) => [a.type, a.attempt]));
    assert.equal(byAttempt.get('configmaps'), 2, 'the type whose parts were removed is collected again');
    assert.equal(byAttempt.get('secrets'), 1, 'the type whose parts are there is resumed');
    assert.deepEqual(await validBackup(id), { namespaces: 1, configmaps: CONFIGMAPS, secrets: SECRETS });
    lost.open(); // the lost attempt's manifest write now finds the backup written and leaves it
    await stalled;
    assert.deepEqual(await validBackup(id), { namespaces: 1, configmaps: CONFIGMAPS, secrets: SECRETS });
  });
});
