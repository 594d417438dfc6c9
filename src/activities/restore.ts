// Restore: create one wave's objects in the target, in parallel, each sanitized; existing ones are skipped.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { PreflightInput, PreflightReport, RestoreWaveInput, RestoreWaveResult } from './contract.js';
import { decrypt, type ArchiveKey } from './archive-crypto.js';
import { decodeArchive, type ArchiveEntry, type BackupManifest, type StoredPlan } from './backup-format.js';
import { objectId } from '../domain/references.js';
import { readManifest } from './backup.js';
import { apiMessage, apiStatus, type ClusterRegistry } from './clusters.js';
import { sha256, type ObjectStore } from './object-store.js';
import { sanitize } from './sanitize/index.js';
import { applyOver, differsInTarget, headerOf } from './conflicts.js';

const CONCURRENCY = 16;
const MAX_REPORTED_ERRORS = 20;

export async function restoreWave(
  clusters: ClusterRegistry,
  store: ObjectStore,
  encryptionKey: ArchiveKey | undefined,
  input: RestoreWaveInput,
): Promise<RestoreWaveResult> {
  const manifest = await readManifest(store, input);
  const target = clusters.get(input.target);
  const plan = await readPlan(store, input.storage.bucket, manifest);
  const ids = new Set(plan.waves[input.wave] ?? []);
  const kinds = new Set([...ids].map((id) => id.slice(0, id.indexOf('/'))));
  const archives = manifest.archives.filter((a) => kinds.has(a.kind));

  const objects: KubernetesObject[] = [];
  for (const archive of archives) {
    const decoded = await loadArchive(store, input.storage.bucket, input.backupId, archive, encryptionKey);
    objects.push(...decoded.filter((o) => ids.has(objectId(o.kind!, o.metadata?.namespace, o.metadata!.name!))));
  }

  const result: RestoreWaveResult = { wave: input.wave, created: 0, skipped: 0, updated: 0, failed: 0, errors: [], differing: 0, differences: [] };
  await forEachConcurrently(objects, async (obj, done) => {
    const where = describe(obj);
    const desired = sanitize(obj, { migrationId: input.migrationId, namespaceMapping: input.namespaceMapping });
    try {
      try {
        await withApiRetry(() => target.objects.create(desired));
        result.created += 1;
      } catch (err) {
        if (apiStatus(err) !== 409 || input.existingObjects === 'fail') throw err;
        if (input.existingObjects === 'update') {
          await withApiRetry(() => applyOver(target, desired));
          result.updated += 1;
        } else {
          result.skipped += 1;
          if (await withApiRetry(() => differsInTarget(target, desired))) {
            result.differing += 1;
            if (result.differences.length < MAX_REPORTED_ERRORS) result.differences.push(where);
          }
        }
      }
    } catch (err) {
      // One object's failure is recorded and reported; it does not stop the others.
      result.failed += 1;
      if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push(`${where}: ${apiMessage(err)}`);
    }
    if (done % 50 === 0) heartbeat({ wave: input.wave, done });
  });
  return result;
}

/** Reads one archive, checks its sha256 against the manifest and decrypts it if it is encrypted. */
async function loadArchive(
  store: ObjectStore,
  bucket: string,
  backupId: string,
  archive: ArchiveEntry,
  encryptionKey: ArchiveKey | undefined,
): Promise<KubernetesObject[]> {
  const data = await store.get(bucket, archive.key);
  if (!data) {
    throw ApplicationFailure.nonRetryable(`archive s3://${bucket}/${archive.key} of backup "${backupId}" is missing`, 'CorruptBackup');
  }
  const actual = sha256(data);
  if (actual !== archive.sha256) {
    throw ApplicationFailure.nonRetryable(
      `archive s3://${bucket}/${archive.key} is corrupted: sha256 ${actual} does not match ${archive.sha256} in the manifest; nothing of it was restored`,
      'CorruptBackup',
    );
  }
  return decodeArchive(archive.encryption ? decryptArchive(data, archive.key, encryptionKey) : data);
}

async function readPlan(store: ObjectStore, bucket: string, manifest: BackupManifest): Promise<StoredPlan> {
  const data = await store.get(bucket, manifest.plan.key);
  if (!data || sha256(data) !== manifest.plan.sha256) {
    throw ApplicationFailure.nonRetryable(
      `the restore plan s3://${bucket}/${manifest.plan.key} of backup "${manifest.backupId}" is ${data ? 'corrupted (sha256 mismatch)' : 'missing'}`,
      'CorruptBackup',
    );
  }
  return JSON.parse(data.toString('utf8')) as StoredPlan;
}

function decryptArchive(data: Buffer, key: string, encryptionKey: ArchiveKey | undefined): Buffer {
  if (!encryptionKey) {
    throw ApplicationFailure.nonRetryable(`archive ${key} is encrypted, but this worker has no backup encryption key (backupEncryption.keyFile)`, 'EncryptionKeyMissing');
  }
  try {
    return decrypt(data, encryptionKey);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`archive ${key} cannot be decrypted: ${(err as Error).message}`, 'CorruptBackup');
  }
}

/** "Kind namespace/name", for people. */
const describe = (o: KubernetesObject) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/** Runs `fn` over `items`, at most CONCURRENCY at a time; `done` counts the items started so far. */
async function forEachConcurrently<T>(items: readonly T[], fn: (item: T, done: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item, next);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}

/** Retries what the API server asks to be retried (429, 5xx) with backoff; anything else is final. */
async function withApiRetry<T>(call: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const status = apiStatus(err);
      const retriable = status === 429 || (status !== undefined && status >= 500) || status === undefined;
      if (!retriable || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
    }
  }
}

/**
 * Before a restore writes anything: the plan and every archive are read and checked (sha256, and the
 * authentication tag of encrypted ones); with `findConflicts`, every object is looked up in the target.
 */
export async function preflightRestore(
  clusters: ClusterRegistry,
  store: ObjectStore,
  encryptionKey: ArchiveKey | undefined,
  input: PreflightInput,
): Promise<PreflightReport> {
  const manifest = await readManifest(store, input);
  await readPlan(store, input.storage.bucket, manifest);
  const target = input.findConflicts ? clusters.get(input.target) : undefined;
  const report: PreflightReport = { objects: 0, conflicts: 0, examples: [] };
  for (const archive of manifest.archives) {
    const objects = await loadArchive(store, input.storage.bucket, input.backupId, archive, encryptionKey);
    report.objects += objects.length;
    heartbeat({ archive: archive.resource });
    if (!target) continue;
    await forEachConcurrently(objects, async (obj) => {
      // Where the object would land, after the same sanitizing (namespace mapping) as the restore.
      const landing = sanitize(obj, { migrationId: '', namespaceMapping: input.namespaceMapping });
      try {
        await withApiRetry(() => target.objects.read(headerOf(landing)));
        report.conflicts += 1;
        if (report.examples.length < MAX_REPORTED_ERRORS) report.examples.push(describe(landing));
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
      }
    });
  }
  return report;
}
