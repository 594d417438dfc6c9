// Reading a backup: its manifest, plan, indexes and parts, each checked (format version, shape, sha256,
// authentication tag) before anything of it is used, with failures that name the backup and the key.
import { ApplicationFailure } from '@temporalio/common';
import { decrypt, type ArchiveKey } from './archive-crypto.js';
import { decodeArchive, FORMAT_VERSION, indexKey, manifestKey, type ArchiveEntry, type BackupManifest, type RawObject, type StoredPlan, type TypeResult } from './backup-format.js';
import { sha256, type ObjectStore } from './object-store.js';
import { FAILURE } from '../domain/failures.js';

/** Where backups live: a bucket and the prefix under it. */
export interface BackupLocation {
  bucket: string;
  prefix: string;
}

/** Manifests never change once written (a backup id is never reused), so each is read once per worker. */
const manifestCache = new Map<string, BackupManifest>();

/** A backup's manifest, checked for the fields a restore reads; failures name the backup and its key. */
export async function readManifest(store: ObjectStore, storage: BackupLocation, backupId: string): Promise<BackupManifest> {
  const { bucket, prefix } = storage;
  const key = manifestKey(prefix, backupId);
  const cached = manifestCache.get(`${bucket}/${key}`);
  if (cached) return cached;
  const data = await store.get(bucket, key);
  if (!data) {
    throw ApplicationFailure.nonRetryable(`backup "${backupId}" not found: s3://${bucket}/${key} does not exist`, FAILURE.BackupNotFound);
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(data.toString('utf8')) as BackupManifest;
  } catch {
    throw ApplicationFailure.nonRetryable(`the manifest of backup "${backupId}" (s3://${bucket}/${key}) is not valid JSON`, FAILURE.CorruptBackup);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw ApplicationFailure.nonRetryable(`the manifest of backup "${backupId}" (s3://${bucket}/${key}) is not a JSON object`, FAILURE.CorruptBackup);
  }
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw ApplicationFailure.nonRetryable(
      `backup "${backupId}" has format version ${manifest.formatVersion}; this worker reads version ${FORMAT_VERSION}. ` +
        `Restore it with a kubeferry release that reads that version.`,
      FAILURE.UnsupportedBackupVersion,
    );
  }
  const lacking = manifestProblems(manifest);
  if (lacking.length) {
    throw ApplicationFailure.nonRetryable(
      `the manifest of backup "${backupId}" (s3://${bucket}/${key}) is damaged: ${lacking.join(', ')}`,
      FAILURE.CorruptBackup,
    );
  }
  if (manifestCache.size > 100) manifestCache.clear();
  manifestCache.set(`${bucket}/${key}`, manifest);
  return manifest;
}

/** The fields a restore reads, missing or of the wrong shape (a manifest edited by hand, or cut short). */
export function manifestProblems(m: BackupManifest): string[] {
  const record = m as unknown as Record<string, unknown>;
  const lists = ['namespaces', 'types', 'kinds', 'archives', 'workloads', 'leftOut'].filter((f) => !Array.isArray(record[f]));
  const plan = m.plan as Partial<BackupManifest['plan']> | undefined;
  return [
    ...lists.map((f) => `${f} is not a list`),
    ...(typeof plan?.key === 'string' && typeof plan.sha256 === 'string' && Array.isArray(plan.waves) ? [] : ['plan lacks its key, sha256 or waves']),
    ...(m.workloadServices && typeof m.workloadServices === 'object' ? [] : ['workloadServices is missing']),
  ];
}

/** What an earlier attempt of a backup stored for one type, so a resumed backup skips it. */
export async function readIndex(store: ObjectStore, { bucket, prefix }: BackupLocation, backupId: string, type: string) {
  const data = await store.get(bucket, indexKey(prefix, backupId, type));
  return data ? (JSON.parse(data.toString('utf8')) as TypeResult<ArchiveEntry[]>) : undefined;
}

/** Reads one archive, checks its sha256 against the manifest and decrypts it if it is encrypted. */
export async function loadArchive(
  store: ObjectStore,
  bucket: string,
  backupId: string,
  archive: ArchiveEntry,
  encryptionKey: ArchiveKey | undefined,
): Promise<RawObject[]> {
  const data = await store.get(bucket, archive.key);
  if (!data) {
    throw ApplicationFailure.nonRetryable(`archive s3://${bucket}/${archive.key} of backup "${backupId}" is missing`, FAILURE.CorruptBackup);
  }
  const actual = sha256(data);
  if (actual !== archive.sha256) {
    throw ApplicationFailure.nonRetryable(
      `archive s3://${bucket}/${archive.key} is corrupted: sha256 ${actual} does not match ${archive.sha256} in the manifest; nothing of it was restored`,
      FAILURE.CorruptBackup,
    );
  }
  const plain = archive.encryption ? decryptArchive(data, `s3://${bucket}/${archive.key}`, backupId, encryptionKey) : data;
  try {
    return decodeArchive(plain);
  } catch (err) {
    // The bytes are what the manifest recorded, so they were written this way: reading again will not help.
    throw ApplicationFailure.nonRetryable(
      `archive s3://${bucket}/${archive.key} of backup "${backupId}" is corrupted: its checksum matches the manifest, but it is not ` +
        `gzip-compressed JSON lines (${(err as Error).message}); nothing of it was restored`,
      FAILURE.CorruptBackup,
    );
  }
}

const planCache = new Map<string, StoredPlan>();

/** The restore plan, verified against the manifest's sha256 (cached per worker by that checksum). */
export async function readPlan(store: ObjectStore, bucket: string, manifest: BackupManifest): Promise<StoredPlan> {
  const cached = planCache.get(manifest.plan.sha256);
  if (cached) return cached;
  const data = await store.get(bucket, manifest.plan.key);
  if (!data || sha256(data) !== manifest.plan.sha256) {
    throw ApplicationFailure.nonRetryable(
      `the restore plan s3://${bucket}/${manifest.plan.key} of backup "${manifest.backupId}" is ${data ? 'corrupted (sha256 mismatch)' : 'missing'}`,
      FAILURE.CorruptBackup,
    );
  }
  const plan = JSON.parse(data.toString('utf8')) as StoredPlan;
  if (planCache.size > 20) planCache.clear();
  planCache.set(manifest.plan.sha256, plan);
  return plan;
}

function decryptArchive(data: Buffer, where: string, backupId: string, encryptionKey: ArchiveKey | undefined): Buffer {
  if (!encryptionKey) {
    throw ApplicationFailure.nonRetryable(`archive ${where} is encrypted, but this worker has no backup encryption key (backupEncryption.keyFile)`, FAILURE.EncryptionKeyMissing);
  }
  try {
    return decrypt(data, encryptionKey);
  } catch (err) {
    // Node's own words for a GCM tag that does not verify say nothing to an operator.
    const why = /unable to authenticate data/.test((err as Error).message)
      ? 'its authentication tag does not match (the archive was changed after it was written)'
      : (err as Error).message;
    throw ApplicationFailure.nonRetryable(`archive ${where} of backup "${backupId}" cannot be decrypted: ${why}`, FAILURE.CorruptBackup);
  }
}
