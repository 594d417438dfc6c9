// Backup: list the selected objects of the source, page by page, and write them to S3 grouped by type.
import { VersionApi, type KubernetesObject, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { planObjectWaves, waveSummaries, type PlanNode } from '../domain/dependency-graph.js';
import { objectId, referencesOf, type ObjectLike } from '../domain/references.js';
import { selectNamespaces } from '../domain/request.js';
import type { BackupInput, BackupSummary, DescribeBackupInput } from './contract.js';
import {
  FORMAT_VERSION,
  ENCRYPTED_RESOURCES,
  archiveKey,
  encodeArchive,
  manifestKey,
  planKey,
  type ArchiveEntry,
  type BackupManifest,
} from './backup-format.js';
import { encrypt, type ArchiveKey } from './archive-crypto.js';
import type { Cluster, ClusterRegistry } from './clusters.js';
import type { ObjectStore } from './object-store.js';
import { NAMESPACES, RESOURCE_TYPES, type ResourceTypeInfo } from './resource-types.js';

const PAGE_SIZE = 500;

/** Why an object of the source is deliberately not copied, or undefined to copy it. */
export function leaveOutReason(obj: KubernetesObject & { type?: string }): string | undefined {
  const name = obj.metadata?.name;
  if (obj.kind === 'ServiceAccount' && name === 'default') return 'default ServiceAccount (every namespace gets its own)';
  if (obj.kind === 'ConfigMap' && name === 'kube-root-ca.crt') return 'kube-root-ca.crt (published by the target cluster itself)';
  if (obj.kind === 'Secret' && obj.type === 'kubernetes.io/service-account-token') return 'service-account token Secret (issued by the target)';
  return undefined;
}

export async function listAll(cluster: Cluster, type: ResourceTypeInfo, namespace: string | undefined, labelSelector?: string) {
  const items: KubernetesObject[] = [];
  let continueToken: string | undefined;
  do {
    const page = await cluster.objects.list(type.apiVersion, type.kind, namespace, undefined, undefined, undefined,
      undefined, labelSelector, PAGE_SIZE, continueToken);
    for (const item of page.items) items.push({ ...item, apiVersion: type.apiVersion, kind: type.kind });
    continueToken = page.metadata?._continue || undefined;
  } while (continueToken);
  return items;
}

export async function backupResources(
  clusters: ClusterRegistry,
  store: ObjectStore,
  encryptionKey: ArchiveKey | undefined,
  input: BackupInput,
): Promise<BackupSummary> {
  const { bucket, prefix } = input.storage;
  const startedAt = new Date().toISOString();
  if (await store.exists(bucket, manifestKey(prefix, input.backupId))) {
    throw ApplicationFailure.nonRetryable(
      `backup "${input.backupId}" already exists in s3://${bucket}/${prefix}; backups are never overwritten. Choose another backupId.`,
      'BackupExists',
    );
  }
  const source = clusters.get(input.source);
  const version = await source.kc.makeApiClient(VersionApi).getCode();

  const namespaceList = await listAll(source, NAMESPACES, undefined);
  const allNamespaces = namespaceList.map((ns) => ns.metadata!.name!);
  const namespaces = selectNamespaces({ namespaces: input.namespaces }, allNamespaces);
  if (namespaces.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `no namespace of cluster "${input.source}" matches namespaces.include ${JSON.stringify(input.namespaces.include)}` +
        (input.namespaces.exclude.length ? ` minus exclude ${JSON.stringify(input.namespaces.exclude)}` : '') +
        `; the cluster has: ${allNamespaces.join(', ')}`,
      'InvalidRequest',
    );
  }

  const leftOut: Record<string, number> = {};
  // Ids and references only, for the restore plan.
  const planNodes: PlanNode[] = [];
  const archives: ArchiveEntry[] = [];
  const workloads: string[] = [];
  // Selectors and pod labels only (not objects), to link each workload to the Services that reach it.
  const serviceSelectors: ServiceSelector[] = [];
  const podLabels = new Map<string, Record<string, string>>();
  const writeArchive = async (type: ResourceTypeInfo, objects: KubernetesObject[]) => {
    if (objects.length === 0) return;
    const secret = ENCRYPTED_RESOURCES.has(type.resource);
    if (secret && !encryptionKey) {
      throw ApplicationFailure.nonRetryable(
        `${objects.length} ${type.resource} are selected, but this worker has no backup encryption key, and Secrets are never ` +
          `stored in plain text. Set backupEncryption.keyFile in the worker config (64 hex characters), or leave ${type.resource} out of resources.include.`,
        'EncryptionKeyMissing',
      );
    }
    const key = archiveKey(prefix, input.backupId, type.resource, secret);
    const body = secret ? encrypt(encodeArchive(objects), encryptionKey!) : encodeArchive(objects);
    const { size, sha256 } = await store.put(bucket, key, body, 'application/octet-stream');
    archives.push({
      resource: type.resource, apiVersion: type.apiVersion, kind: type.kind, key, count: objects.length, size, sha256,
      ...(secret ? { encryption: { algorithm: 'AES-256-GCM' as const, keyId: encryptionKey!.id } } : {}),
    });
  };

  const namespaceObjects = namespaceList.filter((ns) => namespaces.includes(ns.metadata!.name!));
  await writeArchive(NAMESPACES, namespaceObjects);
  planNodes.push(...namespaceObjects.map(toPlanNode));

  for (const resource of input.resources) {
    const type = RESOURCE_TYPES[resource];
    const kept: KubernetesObject[] = [];
    for (const namespace of namespaces) {
      for (const obj of await listAll(source, type, namespace, input.labelSelector)) {
        const reason = leaveOutReason(obj);
        if (reason) {
          leftOut[reason] = (leftOut[reason] ?? 0) + 1;
          continue;
        }
        if (obj.metadata) delete obj.metadata.managedFields;
        kept.push(obj);
        const ref = `${namespace}/${obj.metadata!.name}`;
        if (type.kind === 'Deployment') {
          workloads.push(ref);
          podLabels.set(ref, (obj as V1Deployment).spec?.template.metadata?.labels ?? {});
        }
        const selector = type.kind === 'Service' ? (obj as V1Service).spec?.selector : undefined;
        if (selector && Object.keys(selector).length) serviceSelectors.push({ ref, namespace, selector });
      }
      heartbeat({ resource, namespace });
    }
    await writeArchive(type, kept);
    planNodes.push(...kept.map(toPlanNode));
  }

  const plan = planObjectWaves(planNodes);
  const planBody = Buffer.from(JSON.stringify(plan));
  const storedPlan = await store.put(bucket, planKey(prefix, input.backupId), planBody, 'application/json');

  const manifest: BackupManifest = {
    formatVersion: FORMAT_VERSION,
    backupId: input.backupId,
    migrationId: input.migrationId,
    sourceCluster: input.source,
    sourceVersion: version.gitVersion,
    startedAt,
    completedAt: new Date().toISOString(),
    filters: { namespaces: input.namespaces, resources: input.resources, ...(input.labelSelector ? { labelSelector: input.labelSelector } : {}) },
    namespaces,
    kinds: archives.map((a) => ({ kind: a.kind, count: a.count })),
    archives,
    workloads,
    plan: {
      key: planKey(prefix, input.backupId),
      sha256: storedPlan.sha256,
      waves: waveSummaries(plan),
      brokenCycles: plan.brokenCycles.length,
      outside: plan.outside.length,
    },
    workloadServices: servicesOfWorkloads(workloads, podLabels, serviceSelectors),
    leftOut,
  };
  // The manifest goes last: its presence is what makes the backup complete.
  const written = await store.putIfAbsent(bucket, manifestKey(prefix, input.backupId), Buffer.from(JSON.stringify(manifest, null, 2)));
  if (!written) {
    throw ApplicationFailure.nonRetryable(`backup "${input.backupId}" was written by someone else meanwhile; not overwritten`, 'BackupExists');
  }
  return summarize(manifest);
}

export function toPlanNode(o: KubernetesObject): PlanNode {
  return { id: objectId(o.kind!, o.metadata?.namespace, o.metadata!.name!), kind: o.kind!, refs: referencesOf(o as ObjectLike) };
}

export interface ServiceSelector {
  ref: string;
  namespace: string;
  selector: Record<string, string>;
}

/** For each workload, the Services of its namespace whose selector matches its pod labels. */
export function servicesOfWorkloads(
  workloads: string[],
  podLabels: ReadonlyMap<string, Record<string, string>>,
  services: readonly ServiceSelector[],
): Record<string, string[]> {
  return Object.fromEntries(workloads.map((w) => [w, services
    .filter((s) => w.startsWith(`${s.namespace}/`) && Object.entries(s.selector).every(([k, v]) => podLabels.get(w)?.[k] === v))
    .map((s) => s.ref)]));
}

export async function readManifest(store: ObjectStore, input: DescribeBackupInput): Promise<BackupManifest> {
  const { bucket, prefix } = input.storage;
  const key = manifestKey(prefix, input.backupId);
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
  if (manifest.formatVersion !== FORMAT_VERSION) {
    throw ApplicationFailure.nonRetryable(
      `backup "${input.backupId}" has format version ${manifest.formatVersion}; this worker reads version ${FORMAT_VERSION}`,
      'CorruptBackup',
    );
  }
  return manifest;
}

export function summarize(manifest: BackupManifest): BackupSummary {
  return {
    backupId: manifest.backupId,
    sourceCluster: manifest.sourceCluster,
    namespaces: manifest.namespaces,
    objects: manifest.archives.reduce((sum, a) => sum + a.count, 0),
    kinds: manifest.kinds,
    waves: manifest.plan.waves,
    plan: { brokenCycles: manifest.plan.brokenCycles, outside: manifest.plan.outside },
    workloads: manifest.workloads.length,
    leftOut: manifest.leftOut,
  };
}
