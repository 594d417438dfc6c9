// The backup format in S3 (version 3), documented in docs/backup-format.md:
//   <prefix>/backups/<backupId>/manifest.json    written last: a backup without it is unfinished
//   <prefix>/backups/<backupId>/plan.json        restore plan: object ids per wave, cycles broken
//   <prefix>/backups/<backupId>/resources/<type>/attempt-1-part-00001.ndjson.gz  one JSON object per line, gzip
//   <prefix>/backups/<backupId>/resources/secrets/attempt-1-part-00001.ndjson.gz.enc  the same, then AES-256-GCM
//     (the attempt of the backup activity that wrote the part: a zombie attempt never overwrites another's)
//   <prefix>/backups/<backupId>/index/<type>.json   what the backup learned of a finished type (ids,
//                                                   references, workloads): lets a killed backup resume
// <type> is how kubectl names the type: "configmaps", "deployments.apps", "widgets.example.com".
// The manifest lists every archive with its size and sha256, checked before a restore writes anything;
// a worker with backup keys authenticates the manifest and each index (an HMAC, see archive-crypto.ts).
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ObjectPlan, PlanNode } from '../domain/dependency-graph.js';
import type { KindCount, Wave } from '../domain/ordering.js';
import type { LeftOutType } from '../domain/resource-filter.js';
import type { RawObject } from '../objects/raw-object.js';
import type { LeftOutGroup } from '../objects/leave-out.js';
import type { WorkloadEntry } from '../objects/workloads.js';
import type { Authentication } from './archive-crypto.js';

export type StoredPlan = ObjectPlan;

/** Written by this worker. 3 added authentication and archives bound to their place; 2 is still read. */
export const FORMAT_VERSION = 3;
export const READABLE_VERSIONS: readonly number[] = [2, 3];

export type { LeftOutGroup, RawObject, WorkloadEntry };

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
  /** The backup attempt that wrote the part (format 3): attempts of one backup never write the same key. */
  attempt?: number;
}

/** A workload whose readiness in the target counts towards the grayscale ratio. */
/** What to take from the source: the request's filters, resolved on the worker against what it serves; a manifest records them. */
export interface SelectionFilters {
  namespaces: { include: string[]; exclude: string[] };
  /** Resource types as kubectl writes them ("deployments.apps", "widgets.example.com", "*"). */
  resources: { include: string[]; exclude: string[] };
  clusterResources: 'auto' | 'include' | 'exclude';
  /** kube-system, kube-public, kube-node-lease and kubeferry-system may be selected (never by default). */
  allowSystemNamespaces?: boolean;
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
  filters: SelectionFilters;
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
  /** The HMAC of a worker holding the backup key (format 3); absent when the worker that took it had none. */
  authentication?: Authentication;
}

export const backupsRoot = (prefix: string) => `${prefix.replace(/\/+$/, '')}/backups/`;
export const backupRoot = (prefix: string, backupId: string) => `${backupsRoot(prefix)}${backupId}`;
export const manifestKey = (prefix: string, backupId: string) => `${backupRoot(prefix, backupId)}/manifest.json`;
export const planKey = (prefix: string, backupId: string, attempt?: number) => `${backupRoot(prefix, backupId)}/plan${attempt ? `-attempt-${attempt}` : ''}.json`;
/**
 * Written by each attempt of the backup activity as it begins: an attempt that fails for good removes
 * what it wrote only while no later attempt has begun, since a later one may resume from its parts.
 */
export const attemptKey = (prefix: string, backupId: string, attempt: number) => `${backupRoot(prefix, backupId)}/attempts/attempt-${attempt}.json`;
/** The attempt a key of a backup belongs to (its parts, plan or start mark), or undefined for one all attempts share (an index). */
export function attemptOfKey(key: string): number | undefined {
  const m = /\/(?:attempt-|plan-attempt-)(\d+)(?:-part-|\.json$)/.exec(key);
  return m ? Number(m[1]) : undefined;
}
export const indexKey = (prefix: string, backupId: string, type: string) => `${backupRoot(prefix, backupId)}/index/${type}.json`;
/**
 * The copy of an object of the target that a migration's existingObjects "update" overwrote, kept so that
 * its rollback puts it back: `overwritten/<migrationId>/<type>/<namespace or _cluster>/<name>.json`,
 * encrypted (".enc") for the types whose archives are.
 */
export const overwrittenKey = (prefix: string, backupId: string, migrationId: string, type: string, namespace: string | undefined, name: string) =>
  `${backupRoot(prefix, backupId)}/overwritten/${migrationId}/${type}/${namespace ?? '_cluster'}/${name}.json${ENCRYPTED_TYPES.has(type) ? '.enc' : ''}`;

/**
 * What one restore chunk created in the target, by uid: `created/<migrationId>/<runId>/wave-W/part-A-O.json`
 * (part A of the wave's archives, from object O). Written before the chunk (names only: what it may
 * create) and again after it (with the uid of each object it created); cleanup deletes exactly those.
 */
export const createdKey = (prefix: string, backupId: string, migrationId: string, runId: string, wave: number, archive: number, offset: number) =>
  `${createdRoot(prefix, backupId, migrationId)}${runId || '_'}/wave-${wave}/part-${archive}-${offset}.json`;
export const createdRoot = (prefix: string, backupId: string, migrationId: string) => `${backupRoot(prefix, backupId)}/created/${migrationId}/`;

/** Where a part lives; from format 3 on, each attempt of a backup writes its parts under its own name. */
export const archiveKey = (prefix: string, backupId: string, type: string, part: number, encrypted = false, attempt?: number) =>
  `${backupRoot(prefix, backupId)}/resources/${type}/${attempt ? `attempt-${attempt}-` : ''}part-${String(part).padStart(5, '0')}.ndjson.gz${encrypted ? '.enc' : ''}`;

/** Archives of these types hold secret material and are always encrypted. */
export const ENCRYPTED_TYPES: ReadonlySet<string> = new Set(['secrets']);

/** An archive from objects already serialized one per line (the backup streams them as lines). */
export function encodeArchive(lines: readonly string[]): Buffer {
  return gzipSync(Buffer.from(lines.join('\n') + (lines.length ? '\n' : '')));
}

/**
 * The most bytes one part may hold uncompressed. Parts are closed at 8 MiB (plus the object that crossed
 * it, at most the API server's 3 MiB); anything far above is not a part kubeferry wrote (a gzip bomb).
 */
export const MAX_PART_BYTES = 64 * 1024 * 1024;

/**
 * The objects of a part. Errors never quote the part's contents (JSON.parse's own messages do, and a part
 * may hold Secrets): they say which line is wrong.
 */
export function decodeArchive(data: Buffer, maxBytes = MAX_PART_BYTES): RawObject[] {
  let text: string;
  try {
    text = gunzipSync(data, { maxOutputLength: maxBytes }).toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`it unpacks to more than ${maxBytes / 1024 / 1024} MiB, more than any part kubeferry writes`);
    throw new Error(`it is not gzip-compressed JSON lines (${(err as Error).message})`);
  }
  return text.split('\n').filter((line) => line.length > 0).map((line, i) => {
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new Error(`it is not gzip-compressed JSON lines: line ${i + 1} is not JSON`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`it is not gzip-compressed JSON lines: line ${i + 1} is not a JSON object`);
    return o as RawObject;
  });
}

/** What collecting one type learned: small, so that it can be stored and a killed backup can resume. */
export interface TypeResult<T> {
  type: TypeEntry;
  sink: T;
  nodes: PlanNode[];
  workloads: WorkloadEntry[];
  /** Pod template labels of workloads, by workload id. */
  podLabels: [string, Record<string, string>][];
  /** Label selectors of Services and PodDisruptionBudgets, to link them to the workloads they select. */
  selectors: { id: string; kind: string; namespace: string; selector: Record<string, string> }[];
  /** Uids of objects copied, or left out because a copied controller owns them. */
  covered: string[];
  leftOut: LeftOutGroup[];
  /** Set on a stored index by a worker with backup keys. */
  authentication?: Authentication;
}
