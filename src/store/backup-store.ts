// Reading a backup: its manifest, plan, indexes and parts, each checked (format version, shape, sha256,
// authentication tag) before anything of it is used, with failures that name the backup and the key.
import { ApplicationFailure } from '@temporalio/common';
import { authenticationProblem, decrypt, type ArchivePlace, type BackupKeyring } from './archive-crypto.js';
import { archiveKey, backupRoot, decodeArchive, ENCRYPTED_TYPES, indexKey, manifestKey, READABLE_VERSIONS, type ArchiveEntry, type BackupManifest, type RawObject, type StoredPlan, type TypeResult } from './backup-format.js';
import { ObjectTooLargeError, sha256, type ObjectStore } from './object-store.js';
import { FAILURE } from '../domain/failures.js';

/** Where backups live: a bucket and the prefix under it. */
export interface BackupLocation {
  bucket: string;
  prefix: string;
}

/**
 * Manifests never change once written (a backup id is never reused), so each is read once per worker:
 * once per keyring, since what one set of keys accepts another may not.
 */
const manifestCaches = new WeakMap<object, Map<string, BackupManifest>>();
const NO_KEYS = {};

/**
 * A backup's manifest: authenticated first (nothing of it is used before), then checked for the fields a
 * restore reads; failures name the backup and its key.
 */
export async function readManifest(store: ObjectStore, storage: BackupLocation, backupId: string, keys: BackupKeyring | undefined): Promise<BackupManifest> {
  const { bucket, prefix } = storage;
  const key = manifestKey(prefix, backupId);
  const cacheOwner = keys ?? NO_KEYS;
  const manifestCache = manifestCaches.get(cacheOwner) ?? new Map<string, BackupManifest>();
  manifestCaches.set(cacheOwner, manifestCache);
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
  checkAuthentication(manifest, `the manifest of backup "${backupId}" (s3://${bucket}/${key})`, keys);
  if (!READABLE_VERSIONS.includes(manifest.formatVersion)) {
    throw ApplicationFailure.nonRetryable(
      `backup "${backupId}" has format version ${manifest.formatVersion}; this worker reads versions ${READABLE_VERSIONS.join(' and ')}. ` +
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

/**
 * A worker with backup keys uses only what a worker holding one of them wrote: whoever can write to the
 * bucket could otherwise make the next restore create anything (a binding to cluster-admin) with every
 * checksum matching. A worker without keys cannot tell, and reads unauthenticated backups. The same rule
 * holds for what is stored beside a backup (created-records.ts); `refused` says what follows a refusal.
 */
export function checkAuthentication(doc: object, what: string, keys: BackupKeyring | undefined, refused = 'Nothing of the backup is used.'): void {
  const auth = (doc as { authentication?: { keyId?: unknown } }).authentication;
  if (!keys) {
    if (auth === undefined) return;
    throw ApplicationFailure.nonRetryable(
      `${what} is authenticated with backup key "${String(auth?.keyId)}", but this worker has no backup key: set backupEncryption.keyFile ` +
        'in the worker config to a file that holds it', FAILURE.EncryptionKeyMissing);
  }
  if (auth === undefined && keys.acceptUnauthenticated) return;
  if (auth === undefined) {
    throw ApplicationFailure.nonRetryable(
      `${what} carries no authentication (a backup of format 2, or one taken by a worker without a backup key), so nothing shows that ` +
        'it was not changed in the bucket. If you trust everyone who can write there, set backupEncryption.acceptUnauthenticatedBackups: true ' +
        'in the worker config; otherwise take a new backup.', FAILURE.BackupNotAuthenticated);
  }
  const problem = authenticationProblem(doc, keys);
  if (problem) {
    throw ApplicationFailure.nonRetryable(`${what} is refused: ${problem}. ${refused}`,
      problem.includes('not in') ? FAILURE.EncryptionKeyMissing : FAILURE.CorruptBackup);
  }
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

/**
 * What an earlier attempt of a backup stored for one type, so a resumed backup skips it; undefined (the
 * type is collected again) when there is none, or when it does not hold as a worker with these keys
 * wrote it: a resumed backup authenticates what it takes over, since its manifest will vouch for it.
 */
export async function readIndex(store: ObjectStore, { bucket, prefix }: BackupLocation, backupId: string, type: string, keys: BackupKeyring | undefined) {
  const data = await store.get(bucket, indexKey(prefix, backupId, type));
  if (!data) return undefined;
  let index: TypeResult<ArchiveEntry[]>;
  try {
    index = JSON.parse(data.toString('utf8')) as TypeResult<ArchiveEntry[]>;
  } catch {
    return undefined;
  }
  if (typeof index !== 'object' || index === null) return undefined;
  const auth = index.authentication;
  if (keys ? !auth || authenticationProblem(index, keys) : auth !== undefined) return undefined;
  const { authentication: _, ...result } = index;
  return result;
}

/**
 * Reads one archive and checks it before any of it is used: its key is the one the format derives for
 * that type and part (no archive of another prefix or backup), its size and sha256 are the manifest's, it
 * is decrypted when encrypted, unpacks within bounds, and every object in it is of the archive's type and,
 * when namespaced, in one of the backup's namespaces.
 */
export async function loadArchive(
  store: ObjectStore,
  storage: BackupLocation,
  manifest: BackupManifest,
  archive: ArchiveEntry,
  keys: BackupKeyring | undefined,
): Promise<RawObject[]> {
  const { bucket } = storage;
  const backupId = manifest.backupId;
  const where = `archive s3://${bucket}/${archive.key} of backup "${backupId}"`;
  const corrupt = (why: string) => ApplicationFailure.nonRetryable(`${where} ${why}; nothing of it was restored`, FAILURE.CorruptBackup);
  const type = manifest.types.find((t) => t.name === archive.type);
  if (!type) throw corrupt(`is of type "${archive.type}", which the manifest does not list`);
  const part = manifest.archives.filter((a) => a.type === archive.type).indexOf(archive) + 1;
  const expected = archiveKey(storage.prefix, backupId, archive.type, part, Boolean(archive.encryption), archive.attempt);
  if (part === 0 || archive.key !== expected) throw corrupt(`is not where the format puts part ${part} of ${archive.type} (${expected})`);
  if (ENCRYPTED_TYPES.has(archive.type) && !archive.encryption) throw corrupt(`holds ${archive.type} but is not encrypted`);
  let data: Buffer | undefined;
  try {
    data = await store.get(bucket, archive.key, { maxBytes: archive.size });
  } catch (err) {
    if (err instanceof ObjectTooLargeError) throw corrupt(`is larger than its manifest entry (${archive.size} bytes)`);
    throw err;
  }
  if (!data) {
    throw ApplicationFailure.nonRetryable(`archive s3://${bucket}/${archive.key} of backup "${backupId}" is missing`, FAILURE.CorruptBackup);
  }
  const actual = sha256(data);
  if (data.length !== archive.size || actual !== archive.sha256) {
    throw ApplicationFailure.nonRetryable(
      `archive s3://${bucket}/${archive.key} is corrupted: sha256 ${actual} does not match ${archive.sha256} in the manifest; nothing of it was restored`,
      FAILURE.CorruptBackup,
    );
  }
  // Format 3 binds each encrypted part to its backup, type and part: one swapped in from elsewhere fails.
  const place = manifest.formatVersion >= 3 ? { backupId, type: archive.type, part } : undefined;
  const plain = archive.encryption ? decryptArchive(data, `s3://${bucket}/${archive.key}`, backupId, keys, place) : data;
  let objects: RawObject[];
  try {
    objects = decodeArchive(plain);
  } catch (err) {
    // The bytes are what the manifest recorded, so they were written this way: reading again will not help.
    throw corrupt(`is corrupted: its checksum matches the manifest, but ${(err as Error).message}`);
  }
  const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
  const namespaces = new Set(manifest.namespaces);
  objects.forEach((o, i) => {
    const name = `object ${i + 1} (${o.kind ?? '?'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'})`;
    if (o.kind !== type.kind || o.apiVersion !== apiVersion) throw corrupt(`holds ${name}, which is not ${apiVersion} ${type.kind}`);
    if (typeof o.metadata?.name !== 'string' || !o.metadata.name) throw corrupt(`holds ${name} without a name`);
    const ns = o.metadata.namespace;
    if (type.namespaced && (!ns || !namespaces.has(ns))) throw corrupt(`holds ${name}, outside the backup's namespaces`);
    if (!type.namespaced && ns) throw corrupt(`holds ${name} with a namespace, but ${type.name} are cluster-scoped`);
  });
  return objects;
}

const planCache = new Map<string, StoredPlan>();

/** The restore plan, verified against the manifest's sha256 (cached per worker by that checksum). */
export async function readPlan(store: ObjectStore, storage: BackupLocation, manifest: BackupManifest): Promise<StoredPlan> {
  const { bucket } = storage;
  const cached = planCache.get(manifest.plan.sha256);
  if (cached) return cached;
  const inFolder = manifest.plan.key.startsWith(`${backupRoot(storage.prefix, manifest.backupId)}/`);
  if (!inFolder || !/\/plan(-attempt-\d+)?\.json$/.test(manifest.plan.key)) {
    throw ApplicationFailure.nonRetryable(`the restore plan s3://${bucket}/${manifest.plan.key} of backup "${manifest.backupId}" is not where the format puts it`, FAILURE.CorruptBackup);
  }
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

function decryptArchive(data: Buffer, where: string, backupId: string, keys: BackupKeyring | undefined, place: ArchivePlace | undefined): Buffer {
  if (!keys) {
    throw ApplicationFailure.nonRetryable(`archive ${where} is encrypted, but this worker has no backup encryption key (backupEncryption.keyFile)`, FAILURE.EncryptionKeyMissing);
  }
  try {
    return decrypt(data, keys, place);
  } catch (err) {
    const why = (err as Error).message;
    throw ApplicationFailure.nonRetryable(`archive ${where} of backup "${backupId}" cannot be decrypted: ${why}`,
      why.includes('which is not in') ? FAILURE.EncryptionKeyMissing : FAILURE.CorruptBackup);
  }
}
