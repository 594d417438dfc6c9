// The backup format in S3 (version 2), documented in docs/backup-format.md:
//   <prefix>/backups/<backupId>/manifest.json    written last: a backup without it is unfinished
//   <prefix>/backups/<backupId>/plan.json        restore plan: object ids per wave, cycles broken
//   <prefix>/backups/<backupId>/resources/<type>/part-00001.ndjson.gz       one JSON object per line, gzip
//   <prefix>/backups/<backupId>/resources/secrets/part-00001.ndjson.gz.enc  the same, then AES-256-GCM
//   <prefix>/backups/<backupId>/index/<type>.json   what the backup learned of a finished type (ids,
//                                                   references, workloads): lets a killed backup resume
// <type> is how kubectl names the type: "configmaps", "deployments.apps", "widgets.example.com".
// The manifest lists every archive with its size and sha256, checked before a restore writes anything.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ObjectPlan } from '../domain/dependency-graph.js';
import type { KindCount, Wave } from '../domain/ordering.js';
import type { LeftOutType } from '../domain/resource-filter.js';

export type StoredPlan = ObjectPlan;

export const FORMAT_VERSION = 2;

/** Raw JSON of a Kubernetes object, exactly as the source API server returned it. */
export type RawObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    managedFields?: unknown;
  };
  [field: string]: unknown;
};

/** A resource type in the backup, as the source served it. */
export interface TypeEntry {
  /** kubectl's name: "configmaps", "deployments.apps", "widgets.example.com". */
  name: string;
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  /** The kind as object ids of the plan write it: group-qualified for custom resources ("Widget.example.com"). */
  kindKey: string;
  count: number;
  /** Served by this CustomResourceDefinition (by name) in the source. */
  crd?: string;
}

export interface ArchiveEntry {
  /** TypeEntry.name of the objects inside. */
  type: string;
  key: string;
  count: number;
  size: number;
  sha256: string;
  /** Set when the archive is encrypted client-side; the key never leaves the worker. */
  encryption?: { algorithm: 'AES-256-GCM'; keyId: string };
}

/** A workload whose readiness in the target counts towards the grayscale ratio. */
export interface WorkloadEntry {
  /** Plan id, "Kind/namespace/name". */
  id: string;
  /** TypeEntry.name. */
  type: string;
  namespace: string;
  name: string;
}

export interface LeftOutGroup {
  reason: string;
  count: number;
  /** The first few, as "Kind namespace/name". */
  examples: string[];
}

export interface BackupFilters {
  namespaces: { include: string[]; exclude: string[] };
  resources: { include: string[]; exclude: string[] };
  clusterResources: 'auto' | 'include' | 'exclude';
  labelSelector?: string;
}

export interface BackupManifest {
  formatVersion: number;
  backupId: string;
  migrationId: string;
  /** The run (workflow run id) of the migration that took the backup; absent in backups from before it was recorded. */
  migrationRunId?: string;
  sourceCluster: string;
  sourceVersion: string;
  startedAt: string;
  completedAt: string;
  filters: BackupFilters;
  namespaces: string[];
  types: TypeEntry[];
  kinds: KindCount[];
  archives: ArchiveEntry[];
  workloads: WorkloadEntry[];
  /** Waves of the restore plan (ids in plan.json), and how many references it dropped or found outside. */
  plan: { key: string; sha256: string; waves: Wave[]; brokenCycles: number; outside: number };
  /** For each workload id, the Services (ids) whose selector matches its pods: traffic needs their endpoints. */
  workloadServices: Record<string, string[]>;
  /** Objects seen but deliberately not copied, by reason. */
  leftOut: LeftOutGroup[];
  /** Types served by the source but never copied, with the reason. */
  leftOutTypes: LeftOutType[];
}

export const backupsRoot = (prefix: string) => `${prefix.replace(/\/+$/, '')}/backups/`;
export const backupRoot = (prefix: string, backupId: string) => `${backupsRoot(prefix)}${backupId}`;
export const manifestKey = (prefix: string, backupId: string) => `${backupRoot(prefix, backupId)}/manifest.json`;
export const planKey = (prefix: string, backupId: string) => `${backupRoot(prefix, backupId)}/plan.json`;
export const indexKey = (prefix: string, backupId: string, type: string) => `${backupRoot(prefix, backupId)}/index/${type}.json`;
export const archiveKey = (prefix: string, backupId: string, type: string, part: number, encrypted = false) =>
  `${backupRoot(prefix, backupId)}/resources/${type}/part-${String(part).padStart(5, '0')}.ndjson.gz${encrypted ? '.enc' : ''}`;

/** Archives of these types hold secret material and are always encrypted. */
export const ENCRYPTED_TYPES: ReadonlySet<string> = new Set(['secrets']);

/** An archive from objects already serialized one per line (the backup streams them as lines). */
export function encodeArchive(lines: readonly string[]): Buffer {
  return gzipSync(Buffer.from(lines.join('\n') + (lines.length ? '\n' : '')));
}

export function decodeArchive(data: Buffer): RawObject[] {
  return gunzipSync(data)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RawObject);
}
