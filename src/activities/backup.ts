// Backup: stream the selected objects of the source into S3, type by type, in compressed parts; Secrets
// encrypted. After each type, what was learned of it (ids, references, workloads) is stored next to the
// parts and the finished types are heartbeated, so a backup whose worker dies resumes at the next type.
// The manifest goes last: its presence is what makes a backup complete.
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { planObjectWaves, waveSummaries, type PlanNode } from '../domain/dependency-graph.js';
import type { BackupInput, BackupListing, BackupSummary, DescribeBackupInput, ListBackupsInput } from './contract.js';
import {
  FORMAT_VERSION,
  ENCRYPTED_TYPES,
  archiveKey,
  backupRoot,
  backupsRoot,
  encodeArchive,
  indexKey,
  manifestKey,
  planKey,
  type ArchiveEntry,
  type BackupManifest,
  type LeftOutGroup,
  type RawObject,
  type TypeEntry,
} from './backup-format.js';
import { encrypt, type ArchiveKey } from './archive-crypto.js';
import type { ClusterRegistry } from './clusters.js';
import { collectSelection, scanSource, type ObjectSink, type TypeResult } from './collect.js';
import type { ObjectStore } from './object-store.js';

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
    private readonly encryptionKey: ArchiveKey | undefined,
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
    if (secret && !this.encryptionKey) {
      throw ApplicationFailure.nonRetryable(
        `${type.name} are selected, but this worker has no backup encryption key, and Secrets are never stored in plain text. ` +
          `Set backupEncryption.keyFile in the worker config (64 hex characters), or add ${type.name} to resources.exclude.`,
        'EncryptionKeyMissing',
      );
    }
    const count = this.lines.length;
    const gz = encodeArchive(this.lines);
    this.lines = [];
    this.bytes = 0;
    const key = archiveKey(this.prefix, this.backupId, type.name, this.parts.length + 1, secret);
    const { size, sha256 } = await this.store.put(this.bucket, key, secret ? encrypt(gz, this.encryptionKey!) : gz);
    this.parts.push({
      type: type.name, key, count, size, sha256,
      ...(secret ? { encryption: { algorithm: 'AES-256-GCM' as const, keyId: this.encryptionKey!.id } } : {}),
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
  encryptionKey: ArchiveKey | undefined,
  input: BackupInput,
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
      if (sameRun) return summarize(manifest);
      throw ApplicationFailure.nonRetryable(
        `migration id "${input.migrationId}" was used before: backup "${input.backupId}" in s3://${bucket}/${prefix} is the snapshot of an ` +
          `earlier run (completed ${manifest.completedAt}), and a migration never restores an old snapshot as its own. Run ` +
          `'kubeferry cleanup ${input.migrationId}' to remove what that run created in the target, then start again with a fresh id.`,
        'MigrationIdReused',
      );
    }
    throw ApplicationFailure.nonRetryable(
      `backup "${input.backupId}" already exists in s3://${bucket}/${prefix}; backups are never overwritten. Choose another backupId.`,
      'BackupExists',
    );
  }
  const source = clusters.get(input.source);
  const scan = await scanSource(source, input);
  const cursor: BackupCursor = { typesDone: [] };
  const resumed = new Set((Context.current().info.heartbeatDetails as BackupCursor | undefined)?.typesDone ?? []);
  const kept = await collectSelection(source, scan, input, () => new ArchiveSink(store, bucket, prefix, input.backupId, encryptionKey), {
    resume: async (type) => (resumed.has(type.name) ? readIndex(store, bucket, prefix, input.backupId, type.name) : undefined),
    finished: async (result, wasResumed) => {
      const worthKeeping = result.type.count > 0 || result.leftOut.length > 0;
      if (!wasResumed && worthKeeping) await store.put(bucket, indexKey(prefix, input.backupId, result.type.name), Buffer.from(JSON.stringify(result)), 'application/json');
      cursor.typesDone.push(result.type.name);
      heartbeat(cursor);
    },
    page: () => heartbeat(cursor),
  }).catch(async (err: unknown) => {
    // No attempt follows a non-retryable failure, so what this one wrote would stay as an unfinished backup.
    // Best effort: the failure that stops the backup is what the operator must see, not a cleanup error.
    if (err instanceof ApplicationFailure && err.nonRetryable) await removeUnfinished(store, bucket, prefix, input.backupId).catch(() => undefined);
    throw err;
  });
  const nodes = linkSelectors(kept);
  const plan = planObjectWaves(nodes);
  const storedPlan = await store.put(bucket, planKey(prefix, input.backupId), Buffer.from(JSON.stringify(plan)), 'application/json');
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
      key: planKey(prefix, input.backupId),
      sha256: storedPlan.sha256,
      waves: waveSummaries(plan),
      brokenCycles: plan.brokenCycles.length,
      outside: plan.outside.length,
    },
    workloadServices: servicesOfWorkloads(kept),
    leftOut: mergeLeftOut(kept.flatMap((r) => r.leftOut)),
    leftOutTypes: scan.leftOutTypes,
  };
  const written = await store.putIfAbsent(bucket, manifestKey(prefix, input.backupId), Buffer.from(JSON.stringify(manifest, null, 2)));
  if (!written) {
    throw ApplicationFailure.nonRetryable(`backup "${input.backupId}" was written by someone else meanwhile; not overwritten`, 'BackupExists');
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

/** Deletes the parts and indexes of a backup that will never get its manifest (a finished one is left alone). */
async function removeUnfinished(store: ObjectStore, bucket: string, prefix: string, backupId: string): Promise<void> {
  if (await store.exists(bucket, manifestKey(prefix, backupId))) return;
  for (const key of await store.list(bucket, `${backupRoot(prefix, backupId)}/`)) await store.delete(bucket, key);
}

async function readIndex(store: ObjectStore, bucket: string, prefix: string, backupId: string, type: string) {
  const data = await store.get(bucket, indexKey(prefix, backupId, type));
  return data ? (JSON.parse(data.toString('utf8')) as TypeResult<ArchiveEntry[]>) : undefined;
}

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** PodDisruptionBudgets wait for the workloads they select (the plan then restores them after). */
export function linkSelectors(results: readonly Pick<TypeResult<unknown>, 'nodes' | 'podLabels' | 'selectors'>[]): PlanNode[] {
  const podLabels = byNamespace(results.flatMap((r) => r.podLabels), ([id]) => id.split('/')[1]!);
  const extra = new Map<string, string[]>();
  for (const s of results.flatMap((r) => r.selectors)) {
    if (s.kind !== 'PodDisruptionBudget') continue;
    extra.set(s.id, (podLabels.get(s.namespace) ?? []).filter(([, labels]) => matches(s.selector, labels)).map(([id]) => id));
  }
  return results.flatMap((r) => r.nodes).map((n) => (extra.has(n.id) ? { ...n, refs: [...n.refs, ...extra.get(n.id)!] } : n));
}

/** For each workload, the Services of its namespace whose selector matches its pod labels. */
export function servicesOfWorkloads(results: readonly Pick<TypeResult<unknown>, 'podLabels' | 'selectors'>[]): Record<string, string[]> {
  const services = byNamespace(results.flatMap((r) => r.selectors).filter((s) => s.kind === 'Service'), (s) => s.namespace);
  return Object.fromEntries(results.flatMap((r) => r.podLabels).map(([id, labels]) => [
    id,
    (services.get(id.split('/')[1]!) ?? []).filter((s) => matches(s.selector, labels)).map((s) => s.id),
  ]));
}

/** Selectors only match within a namespace: grouping by it keeps matching linear in the usual case. */
function byNamespace<T>(items: readonly T[], namespaceOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const ns = namespaceOf(item);
    const group = groups.get(ns);
    if (group) group.push(item);
    else groups.set(ns, [item]);
  }
  return groups;
}

export function mergeLeftOut(groups: readonly LeftOutGroup[]): LeftOutGroup[] {
  const byReason = new Map<string, LeftOutGroup>();
  for (const g of groups) {
    const m = byReason.get(g.reason) ?? { reason: g.reason, count: 0, examples: [] };
    m.count += g.count;
    m.examples = [...m.examples, ...g.examples].slice(0, 5);
    byReason.set(g.reason, m);
  }
  return [...byReason.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** Manifests never change once written (a backup id is never reused), so each is read once per worker. */
const manifestCache = new Map<string, BackupManifest>();

export async function readManifest(store: ObjectStore, input: DescribeBackupInput): Promise<BackupManifest> {
  const { bucket, prefix } = input.storage;
  const key = manifestKey(prefix, input.backupId);
  const cached = manifestCache.get(`${bucket}/${key}`);
  if (cached) return cached;
  const data = await store.get(bucket, key);
  if (!data) {
    throw ApplicationFailure.nonRetryable(`backup "${input.backupId}" not found: s3://${bucket}/${key} does not exist`, 'BackupNotFound');
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(data.toString('utf8')) as BackupManifest;
  } catch {
    throw ApplicationFailure.nonRetryable(`the manifest of backup "${input.backupId}" (s3://${bucket}/${key}) is not valid JSON`, 'CorruptBackup');
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw ApplicationFailure.nonRetryable(`the manifest of backup "${input.backupId}" (s3://${bucket}/${key}) is not a JSON object`, 'CorruptBackup');
  }
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw ApplicationFailure.nonRetryable(
      `backup "${input.backupId}" has format version ${manifest.formatVersion}; this worker reads version ${FORMAT_VERSION}. ` +
        `Restore it with a kubeferry release that reads that version.`,
      'UnsupportedBackupVersion',
    );
  }
  const lacking = manifestProblems(manifest);
  if (lacking.length) {
    throw ApplicationFailure.nonRetryable(
      `the manifest of backup "${input.backupId}" (s3://${bucket}/${key}) is damaged: ${lacking.join(', ')}`,
      'CorruptBackup',
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
export async function listBackups(store: ObjectStore, input: ListBackupsInput): Promise<BackupListing[]> {
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
      const m = await readManifest(store, { storage: input.storage, backupId });
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
