// Backup: stream the selected objects of the source into S3, type by type, in compressed parts; Secrets
// encrypted. After each type, what was learned of it (ids, references, workloads) is stored next to the
// parts and the finished types are heartbeated, so a backup whose worker dies resumes at the next type.
// The manifest goes last: its presence is what makes a backup complete.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { heartbeatOrStop } from './cancellation.js';
import { planObjectWaves, waveSummaries } from '../domain/dependency-graph.js';
import type { BackupInput, BackupListing, BackupSummary, ListBackupsInput } from './contract.js';
import { type ArchiveEntry, archiveKey, attemptKey, attemptOfKey, type BackupManifest, backupRoot, backupsRoot, encodeArchive, ENCRYPTED_TYPES, FORMAT_VERSION, indexKey, manifestKey, planKey, type RawObject, type TypeEntry } from '../store/backup-format.js';
import { authenticate, encrypt, type BackupKeyring } from '../store/archive-crypto.js';
import type { ClusterRegistry } from '../kube/clusters.js';
import { collectSelection, scanSource, type ObjectSink } from './collect.js';
import type { ObjectStore } from '../store/object-store.js';
import { readIndex, readManifest } from '../store/backup-store.js';
import { linkSelectors, servicesOfWorkloads } from '../objects/selectors.js';
import { mergeLeftOut } from '../objects/leave-out.js';
import { FAILURE } from '../domain/failures.js';
import type { WorkerPolicy } from '../config/worker-policy.js';
import { enforcePolicy } from './policy.js';
import { forEachConcurrently } from '../concurrency.js';

/** A part is closed at this many objects or bytes (uncompressed), whichever comes first. */
const PART_OBJECTS = 2000;
const PART_BYTES = 8 * 1024 * 1024;

/** Writes a type's objects to S3 in parts; returns the archive entries. */
class ArchiveSink implements ObjectSink<ArchiveEntry[]> {
  private lines: string[] = [];
  private bytes = 0;
  private parts: ArchiveEntry[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly backupId: string,
    private readonly keys: BackupKeyring | undefined,
    /** This attempt of the backup activity: its parts never share a key with another attempt's. */
    private readonly attempt: number,
  ) {}

  async add(type: TypeEntry, obj: RawObject): Promise<void> {
    const line = JSON.stringify(obj);
    this.lines.push(line);
    this.bytes += line.length;
    if (this.lines.length >= PART_OBJECTS || this.bytes >= PART_BYTES) await this.flush(type);
  }

  async finish(type: TypeEntry): Promise<ArchiveEntry[]> {
    if (this.lines.length) await this.flush(type);
    const parts = this.parts;
    this.parts = [];
    return parts;
  }

  private async flush(type: TypeEntry): Promise<void> {
    const secret = ENCRYPTED_TYPES.has(type.name);
    if (secret && !this.keys) {
      throw ApplicationFailure.nonRetryable(
        `${type.name} are selected, but this worker has no backup encryption key, and Secrets are never stored in plain text. ` +
          `Set backupEncryption.keyFile in the worker config (64 hex characters), or add ${type.name} to resources.exclude.`,
        FAILURE.EncryptionKeyMissing,
      );
    }
    const count = this.lines.length;
    const gz = encodeArchive(this.lines);
    this.lines = [];
    this.bytes = 0;
    const part = this.parts.length + 1;
    const key = archiveKey(this.prefix, this.backupId, type.name, part, secret, this.attempt);
    const { size, sha256 } = await this.store.put(this.bucket, key, secret ? encrypt(gz, this.keys!, { backupId: this.backupId, type: type.name, part }) : gz);
    this.parts.push({
      type: type.name, key, count, size, sha256, attempt: this.attempt,
      ...(secret ? { encryption: { algorithm: 'AES-256-GCM' as const, keyId: this.keys!.current } } : {}),
    });
  }
}

/** The heartbeat of a backup: the types that are finished (their index is in S3). */
interface BackupCursor {
  typesDone: string[];
}

export async function backupResources(
  clusters: ClusterRegistry,
  store: ObjectStore,
  keys: BackupKeyring | undefined,
  input: BackupInput,
  policy?: WorkerPolicy,
): Promise<BackupSummary> {
  const { bucket, prefix } = input.storage;
  const startedAt = new Date().toISOString();
  const info = Context.current().info;
  const runId = info.workflowExecution?.runId;
  const existing = await store.get(bucket, manifestKey(prefix, input.backupId));
  if (existing) {
    const manifest = parseManifest(existing);
    if (manifest?.migrationId === input.migrationId) {
      // Finished by an earlier attempt of this same run (the worker died before reporting it). A manifest
      // from before runs were recorded can only be this run's when this is a later attempt.
      const sameRun = manifest.migrationRunId ? manifest.migrationRunId === runId : info.attempt > 1;
      if (sameRun) return summarize(await readManifest(store, input.storage, input.backupId, keys));
      throw ApplicationFailure.nonRetryable(
        `migration id "${input.migrationId}" was used before: backup "${input.backupId}" in s3://${bucket}/${prefix} is the snapshot of an ` +
          `earlier run (completed ${manifest.completedAt}), and a migration never restores an old snapshot as its own. Run ` +
          `'kubeferry cleanup ${input.migrationId}' to remove what that run created in the target, then start again with a fresh id.`,
        FAILURE.MigrationIdReused,
      );
    }
    throw ApplicationFailure.nonRetryable(
      `backup "${input.backupId}" already exists in s3://${bucket}/${prefix}; backups are never overwritten. Choose another backupId.`,
      FAILURE.BackupExists,
    );
  }
  const source = clusters.get(input.source);
  const scan = await scanSource(source, input);
  enforcePolicy(policy, { source: input.source, storage: input.storage, namespaces: scan.namespaces });
  // Marks this attempt's start before anything else it writes: see removeUnfinished.
  await store.put(bucket, attemptKey(prefix, input.backupId, info.attempt),
    Buffer.from(JSON.stringify({ attempt: info.attempt, startedAt, ...(runId ? { runId } : {}) })), 'application/json');
  const cursor: BackupCursor = { typesDone: [] };
  const resumed = new Set((Context.current().info.heartbeatDetails as BackupCursor | undefined)?.typesDone ?? []);
  const kept = await collectSelection(source, scan, input, () => new ArchiveSink(store, bucket, prefix, input.backupId, keys, info.attempt), {
    resume: async (type) => {
      if (!resumed.has(type.name)) return undefined;
      const index = await readIndex(store, input.storage, input.backupId, type.name, keys);
      // An attempt that failed for good may have removed the parts this one would resume from: collect the type again.
      return index && (await firstMissing(store, bucket, index.sink.map((a) => a.key))) === undefined ? index : undefined;
    },
    finished: async (result, wasResumed) => {
      const worthKeeping = result.type.count > 0 || result.leftOut.length > 0;
      if (!wasResumed && worthKeeping) {
        const index = keys ? authenticate(result, keys) : result;
        await store.put(bucket, indexKey(prefix, input.backupId, result.type.name), Buffer.from(JSON.stringify(index)), 'application/json');
      }
      cursor.typesDone.push(result.type.name);
      heartbeatOrStop(cursor);
    },
    page: () => heartbeatOrStop(cursor),
  }).catch(async (err: unknown) => {
    // No attempt follows a non-retryable failure, so what this one wrote would stay as an unfinished backup.
    // Best effort: the failure that stops the backup is what the operator must see, not a cleanup error.
    if (err instanceof ApplicationFailure && err.nonRetryable) await removeUnfinished(store, bucket, prefix, input.backupId, info.attempt).catch(() => undefined);
    throw err;
  });
  const nodes = linkSelectors(kept);
  const plan = planObjectWaves(nodes);
  const storedPlan = await store.put(bucket, planKey(prefix, input.backupId, info.attempt), Buffer.from(JSON.stringify(plan)), 'application/json');
  const workloads = kept.flatMap((r) => r.workloads);
  const manifest: BackupManifest = {
    formatVersion: FORMAT_VERSION,
    backupId: input.backupId,
    migrationId: input.migrationId,
    ...(runId ? { migrationRunId: runId } : {}),
    sourceCluster: input.source,
    sourceVersion: scan.version,
    startedAt,
    completedAt: new Date().toISOString(),
    filters: {
      namespaces: input.namespaces,
      resources: input.resources,
      clusterResources: input.clusterResources,
      ...(input.labelSelector ? { labelSelector: input.labelSelector } : {}),
    },
    namespaces: scan.namespaces,
    types: kept.filter((r) => r.type.count > 0).map((r) => r.type),
    kinds: kept.filter((r) => r.type.count > 0).map((r) => ({ kind: r.type.kindKey, count: r.type.count })),
    archives: kept.flatMap((r) => r.sink),
    workloads,
    plan: {
      key: planKey(prefix, input.backupId, info.attempt),
      sha256: storedPlan.sha256,
      waves: waveSummaries(plan),
      brokenCycles: plan.brokenCycles.length,
      outside: plan.outside.length,
    },
    workloadServices: servicesOfWorkloads(kept),
    leftOut: mergeLeftOut(kept.flatMap((r) => r.leftOut)),
    leftOutTypes: scan.leftOutTypes,
  };
  // The manifest makes the backup complete, so it stands only over parts that are all there: an attempt
  // beside this one that failed for good may be removing them (removeUnfinished). Checked before it is
  // written, and again after, when a removal that began before the write may have gone on meanwhile.
  const partsRemoved = (gone: string) => ApplicationFailure.retryable(
    `s3://${bucket}/${gone} of backup "${input.backupId}" was removed while attempt ${info.attempt} of the backup ran (another attempt that failed ` +
      `for good cleaned up what it could not finish); no manifest was written, and the next attempt collects what is missing again`,
    FAILURE.BackupPartsRemoved,
  );
  const needed = [...manifest.archives.map((a) => a.key), manifest.plan.key];
  const goneBefore = await firstMissing(store, bucket, needed);
  if (goneBefore) throw partsRemoved(goneBefore);
  const stored = keys ? authenticate(manifest, keys) : manifest;
  const written = await store.putIfAbsent(bucket, manifestKey(prefix, input.backupId), Buffer.from(JSON.stringify(stored, null, 2)));
  if (!written) {
    // The manifest exists now. Either another attempt of this run finished first (a zombie attempt still
    // running beside this one, whose parts are its own and complete), or this very write succeeded and
    // the SDK retried it after losing the answer: both are this run's backup, not someone else's.
    const theirs = await readManifest(store, input.storage, input.backupId, keys).catch(() => undefined);
    if (theirs && runId && theirs.migrationRunId === runId) return summarize(theirs);
    throw ApplicationFailure.nonRetryable(`backup "${input.backupId}" was written by someone else meanwhile; not overwritten`, FAILURE.BackupExists);
  }
  const goneAfter = await firstMissing(store, bucket, needed);
  if (goneAfter) {
    await store.delete(bucket, manifestKey(prefix, input.backupId));
    throw partsRemoved(goneAfter);
  }
  return summarize(manifest);
}

function parseManifest(data: Buffer): BackupManifest | undefined {
  try {
    return JSON.parse(data.toString('utf8')) as BackupManifest;
  } catch {
    return undefined;
  }
}

/** One of these keys that is not in the bucket (asked side by side: a large backup has hundreds of parts). */
async function firstMissing(store: ObjectStore, bucket: string, keys: string[]): Promise<string | undefined> {
  let missing: string | undefined;
  await forEachConcurrently(keys, async (key) => {
    if (!missing && !(await store.exists(bucket, key))) missing = key;
  });
  return missing;
}

/**
 * Deletes what the attempts up to this one wrote of a backup that will never get its manifest. A finished
 * backup is left alone, and so is everything once a later attempt has begun (this one failed for good, but
 * a later one, started when this one was thought lost, may be resuming from its parts and will finish or
 * fail on its own). Both are checked before each delete, so a manifest or a later attempt that appears
 * meanwhile stops it. The parts of later attempts are never deleted; an attempt that resumed from parts
 * deleted here, or wrote its manifest over them, finds them missing and collects them again.
 */
async function removeUnfinished(store: ObjectStore, bucket: string, prefix: string, backupId: string, attempt: number): Promise<void> {
  const root = `${backupRoot(prefix, backupId)}/`;
  const leaveAlone = async () => (await store.exists(bucket, manifestKey(prefix, backupId)))
    || (await store.list(bucket, `${root}attempts/`)).some((k) => (attemptOfKey(k) ?? 0) > attempt);
  for (const key of await store.list(bucket, root)) {
    if ((attemptOfKey(key) ?? 0) > attempt) continue;
    if (await leaveAlone()) return;
    await store.delete(bucket, key);
  }
}

export function summarize(manifest: BackupManifest): BackupSummary {
  return {
    backupId: manifest.backupId,
    sourceCluster: manifest.sourceCluster,
    sourceVersion: manifest.sourceVersion,
    completedAt: manifest.completedAt,
    namespaces: manifest.namespaces,
    objects: manifest.types.reduce((sum, t) => sum + t.count, 0),
    kinds: manifest.kinds,
    waves: manifest.plan.waves,
    plan: { brokenCycles: manifest.plan.brokenCycles, outside: manifest.plan.outside },
    workloads: manifest.workloads.length,
    leftOut: Object.fromEntries(manifest.leftOut.map((g) => [g.reason, g.count])),
  };
}

/** Finished backups under the prefix (those with a manifest), newest first. */
export async function listBackups(store: ObjectStore, keys: BackupKeyring | undefined, input: ListBackupsInput): Promise<BackupListing[]> {
  const { bucket, prefix } = input.storage;
  const root = backupsRoot(prefix);
  const listings: BackupListing[] = [];
  for (const folder of await store.listPrefixes(bucket, root)) {
    const backupId = folder.slice(root.length).replace(/\/$/, '');
    // A folder without a manifest is a backup still running, or one that failed before its end.
    if (!(await store.exists(bucket, manifestKey(prefix, backupId)))) {
      listings.push({ backupId, status: 'incomplete' });
      continue;
    }
    try {
      const m = await readManifest(store, input.storage, backupId, keys);
      listings.push({
        backupId, status: 'complete', sourceCluster: m.sourceCluster, completedAt: m.completedAt,
        objects: m.types.reduce((s, t) => s + t.count, 0), migrationId: m.migrationId,
      });
    } catch (err) {
      listings.push({ backupId, status: 'unreadable', problem: (err as Error).message });
    }
  }
  return listings.sort((a, b) => (b.completedAt ?? '9').localeCompare(a.completedAt ?? '9')).slice(0, input.limit ?? 100);
}
