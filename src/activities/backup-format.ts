// The backup format in S3 (version 1):
//   <prefix>/backups/<backupId>/manifest.json               written last: a backup without it is unfinished
//   <prefix>/backups/<backupId>/plan.json                   restore plan: object ids per wave, cycles broken
//   <prefix>/backups/<backupId>/resources/<resource>.ndjson.gz   one JSON object per line, gzip
//   <prefix>/backups/<backupId>/resources/secrets.ndjson.gz.enc  the same, then AES-256-GCM (archive-crypto.ts)
// The manifest lists every archive with its size and sha256, checked before a restore writes anything.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectPlan } from '../domain/dependency-graph.js';
import type { KindCount, Wave } from '../domain/ordering.js';

export type StoredPlan = ObjectPlan;

export const FORMAT_VERSION = 1;

export interface ArchiveEntry {
  resource: string;
  apiVersion: string;
  kind: string;
  key: string;
  count: number;
  size: number;
  sha256: string;
  /** Set when the archive is encrypted client-side; the key never leaves the worker. */
  encryption?: { algorithm: 'AES-256-GCM'; keyId: string };
}

export interface BackupManifest {
  formatVersion: number;
  backupId: string;
  migrationId: string;
  sourceCluster: string;
  sourceVersion: string;
  startedAt: string;
  completedAt: string;
  filters: { namespaces: { include: string[]; exclude: string[] }; resources: string[]; labelSelector?: string };
  namespaces: string[];
  kinds: KindCount[];
  archives: ArchiveEntry[];
  /** Workloads (namespace/name of Deployments) whose readiness makes the grayscale ratio. */
  workloads: string[];
  /** Waves of the restore plan (ids in plan.json), and how many references it dropped or found outside. */
  plan: { key: string; sha256: string; waves: Wave[]; brokenCycles: number; outside: number };
  /** The Services (namespace/name) whose selector matches each workload's pods: traffic needs their endpoints. */
  workloadServices: Record<string, string[]>;
  leftOut: Record<string, number>;
}

export const backupRoot = (prefix: string, backupId: string) => `${prefix.replace(/\/+$/, '')}/backups/${backupId}`;
export const manifestKey = (prefix: string, backupId: string) => `${backupRoot(prefix, backupId)}/manifest.json`;
export const planKey = (prefix: string, backupId: string) => `${backupRoot(prefix, backupId)}/plan.json`;
export const archiveKey = (prefix: string, backupId: string, resource: string, encrypted = false) =>
  `${backupRoot(prefix, backupId)}/resources/${resource}.ndjson.gz${encrypted ? '.enc' : ''}`;

/** Archives of these resources hold secret material and are always encrypted. */
export const ENCRYPTED_RESOURCES: ReadonlySet<string> = new Set(['secrets']);

export function encodeArchive(objects: readonly KubernetesObject[]): Buffer {
  return gzipSync(Buffer.from(objects.map((o) => JSON.stringify(o)).join('\n') + (objects.length ? '\n' : '')));
}

export function decodeArchive(data: Buffer): KubernetesObject[] {
  return gunzipSync(data)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as KubernetesObject);
}
