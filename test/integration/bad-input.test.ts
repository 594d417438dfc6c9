// Bad input, table-driven, on the real local stack: every case must fail with a message that names what is
// wrong, without a retry (a non-retryable failure: the failing activity ran once), and leave nothing behind
// (no object labelled with the migration id in the target, no S3 key under the request's prefix beyond
// what the case put there itself).
//
// Two kinds of case. Request cases: the client refuses the request before starting anything, and the
// workflow, started by type name with the same plain JSON (past the client's validation), fails with a
// non-retryable InvalidRequest naming the field. Runtime cases: the request is valid, the worker finds the
// problem (a cluster it does not know, a backup that is not there or damaged, a selection of nothing, a
// target that cannot take the objects, a route whose router object does not exist). Damaged backups are
// copies of a real backup taken at the start, changed with the backup format's own functions.
//
// All cases run at once on one worker; each has its own migration id, prefix and target namespace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RawObject } from '../../src/store/backup-format.js';
import type { PreflightReport } from '../../src/activities/contract.js';
import { discover } from '../../src/kube/discovery.js';
import { createActivities, depsFromConfig } from '../../src/activities/index.js';
import { KubeApiError, resourcePath, type KubeRest } from '../../src/kube/rest.js';
import { withApiRetry } from '../../src/kube/errors.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { ObjectStore, sha256 } from '../../src/store/object-store.js';
import { startMigration } from '../../src/client.js';
import { InvalidRequestError, routeSchema, type MigrationRequestInput } from '../../src/domain/request.js';
import { BackupFixture, flipByte } from '../support/backup-fixtures.js';
import { loadBackupKeyring, type BackupKeyring } from '../../src/store/archive-crypto.js';
import { startStackWorker, type StackWorker } from '../support/stack.js';
import { NON_RETRYABLE } from '../../src/domain/failures.js';

const run = `bi-${randomBytes(3).toString('hex')}`;
const bucket = 'kubeferry';
const root = `test/${run}`;
const srcNs = `${run}-src`;
const crdNs = `${run}-crd`;
const group = `${run}.kubeferry.test`;
const seed = { prefix: `${root}/seed`, base: `${run}-base`, noCrd: `${run}-nocrd` };


let stack: StackWorker;
let client: Client;
let taskQueue: string;
let store: ObjectStore;
/** The stack worker's backup keys: the fixtures hold them, as a worker does, unless a case plays someone without them. */
let keys: BackupKeyring;
let source: KubeRest;
let target: KubeRest;

interface Ctx {
  /** The migration id (= workflow id); also the target namespace the case maps the source namespace to. */
  id: string;
  storage: { bucket: string; prefix: string };
  /** A backup id for what the case seeds. */
  backupId: string;
}

interface Case {
  name: string;
  /** The request, as plain JSON. */
  request: (c: Ctx) => Record<string, unknown>;
  /** Request cases: what the client's InvalidRequestError says (one of its problems). */
  client?: RegExp;
  /** Where it fails (an activity, or "workflow"), with which type and message. */
  expect: { at: string; type: string; message: RegExp };
  /** Puts what the case needs in S3 (or the target) before it starts. */
  seed?: (c: Ctx) => Promise<void>;
  migrationId?: string;
  /**
   * The check lives in an activity that sees the routes only when the workflow passes them
   * (checkConnectivity, preflightRestore): without that, the problem is found after the restore.
   */
}

interface Outcome {
  error: unknown;
  clientError?: unknown;
  history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
  seeded: string[];
  keysAfter: string[];
}

const clusters = { source: { cluster: 'source' }, target: { cluster: 'target' } };
/** A valid request; the case changes one thing. */
const valid = (c: Ctx, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...clusters,
  storage: c.storage,
  namespaces: { include: [srcNs], mapping: [`${srcNs}:${c.id}`] },
  readiness: { pollInterval: '1s', timeout: '1m' },
  ...extra,
});
const withTraffic = (c: Ctx, traffic: Record<string, unknown>) => valid(c, { traffic });
const restore = (c: Ctx, extra: Record<string, unknown> = {}) => valid(c, { task: 'restore', backupId: c.backupId, ...extra });
const haproxyRoute = (extra: Record<string, unknown> = {}) => ({ name: 'web', router: 'haproxy', backend: 'web', workloads: [`${srcNs}/web`], ...extra });
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A copy of the base backup under the case's prefix and backup id. */
const copyOf = (c: Ctx, from = seed.base, backupId = c.backupId) =>
  BackupFixture.copy(store, bucket, { prefix: seed.prefix, backupId: from }, { prefix: c.storage.prefix, backupId }, keys);

/** Adds a ConfigMap with `bytes` of data to the backup's ConfigMap archive and plan, checksums recorded: an honest backup of an object no API server takes. */
async function withLargeConfigMap(c: Ctx, name: string, bytes: number): Promise<void> {
  const b = await copyOf(c);
  const entry = b.archive('configmaps');
  const objects = await b.objects(entry);
  objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: srcNs }, data: { blob: 'x'.repeat(bytes) } });
  await b.writeObjects(entry, objects);
  const plan = await b.plan();
  const wave = plan.waves.findIndex((w) => w.includes(`ConfigMap/${srcNs}/app-config`));
  plan.waves[wave]!.push(`ConfigMap/${srcNs}/${name}`);
  plan.waves[wave]!.sort();
  b.manifest.plan.waves[wave]!.count += 1;
  await b.writePlan(plan);
  await b.saveManifest();
}

const cases: Case[] = [
  // --- Request cases: refused by the client's validation and by the workflow's own.
  { name: 'an unknown field (a typo of "namespaces")', request: (c) => ({ ...valid(c), namespace: { include: ['x'] } }),
    client: /^\(request\): Unrecognized key: "namespace"/, expect: { at: 'workflow', type: 'InvalidRequest', message: /Unrecognized key: "namespace"/ } },
  { name: 'an invalid namespace name', request: (c) => valid(c, { namespaces: { include: ['Shop!'] } }),
    client: /^namespaces\.include\.0: a namespace name or pattern/, expect: { at: 'workflow', type: 'InvalidRequest', message: /namespaces\.include\.0: a namespace name or pattern/ } },
  { name: 'a namespace both included and excluded', request: (c) => valid(c, { namespaces: { include: [srcNs, 'shop'], exclude: ['shop'] } }),
    client: /^namespaces: namespaces both included and excluded: shop$/, expect: { at: 'workflow', type: 'InvalidRequest', message: /namespaces: namespaces both included and excluded: shop/ } },
  { name: 'no namespace at all', request: (c) => valid(c, { namespaces: { include: [] } }),
    client: /^namespaces\.include: name at least one namespace/, expect: { at: 'workflow', type: 'InvalidRequest', message: /namespaces\.include: name at least one namespace/ } },
  { name: 'an invalid resource-type name', request: (c) => valid(c, { resources: { include: ['deploy ments'] } }),
    client: /^resources\.include\.0: "deploy ments" is not a resource type/, expect: { at: 'workflow', type: 'InvalidRequest', message: /resources\.include\.0: "deploy ments" is not a resource type/ } },
  { name: 'a wildcard inside a resource type', request: (c) => valid(c, { resources: { include: ['*.apps'] } }),
    client: /^resources\.include\.0: "\*\.apps": "\*" stands alone/, expect: { at: 'workflow', type: 'InvalidRequest', message: /resources\.include\.0: "\*\.apps"/ } },
  { name: 'a resource type both included and excluded', request: (c) => valid(c, { resources: { include: ['configmaps', 'secrets'], exclude: ['Secrets'] } }),
    client: /^resources: resource types both included and excluded: secrets$/, expect: { at: 'workflow', type: 'InvalidRequest', message: /resource types both included and excluded: secrets/ } },
  { name: 'excluding every resource type', request: (c) => valid(c, { resources: { exclude: ['*'] } }),
    client: /^resources\.exclude\.0: "\*" would leave out every type/, expect: { at: 'workflow', type: 'InvalidRequest', message: /resources\.exclude\.0: "\*" would leave out every type/ } },
  { name: 'weights not increasing', request: (c) => withTraffic(c, { steps: [10, 50, 25, 100] }),
    client: /^traffic\.steps\.2: weights must increase: 25 follows 50/, expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.steps\.2: weights must increase: 25 follows 50/ } },
  { name: 'a weight above 100', request: (c) => withTraffic(c, { steps: [10, 150] }),
    client: /^traffic\.steps\.1: a weight is at most 100 \(percent to the target\)/, expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.steps\.1: a weight is at most 100/ } },
  { name: 'a last step below 100', request: (c) => withTraffic(c, { steps: [10, 50] }),
    client: /^traffic\.steps: the last step must be 100/, expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.steps: the last step must be 100/ } },
  { name: 'a zero step interval', request: (c) => withTraffic(c, { stepInterval: '0s' }),
    client: /^traffic\.stepInterval: traffic\.stepInterval must be longer than zero/, expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.stepInterval must be longer than zero/ } },
  { name: 'a negative readiness timeout (number)', request: (c) => valid(c, { readiness: { pollInterval: '1s', timeout: -30 } }),
    client: /^readiness\.timeout: readiness\.timeout must be longer than zero/, expect: { at: 'workflow', type: 'InvalidRequest', message: /readiness\.timeout must be longer than zero/ } },
  { name: 'a negative step interval (text)', request: (c) => withTraffic(c, { stepInterval: '-5m' }),
    client: /^traffic\.stepInterval: "-5m" is not a duration/, expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.stepInterval: "-5m" is not a duration/ } },
  { name: 'a negative observe period', request: (c) => withTraffic(c, { observeFor: '-1m' }),
    client: /^traffic\.observeFor: "-1m" is not a duration/, expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.observeFor: "-1m" is not a duration/ } },
  { name: 'a threshold shorter than one step', request: (c) => withTraffic(c, { stepInterval: '5m', cutoverAfter: '2m' }),
    client: /^traffic\.cutoverAfter: the grayscale time threshold \(2m\) is shorter than one step interval \(5m\)/,
    expect: { at: 'workflow', type: 'InvalidRequest', message: /traffic\.cutoverAfter: the grayscale time threshold \(2m\) is shorter than one step interval \(5m\)/ } },
  { name: 'a poll interval longer than the readiness timeout', request: (c) => valid(c, { readiness: { pollInterval: '5m', timeout: '1m' } }),
    client: /^readiness\.pollInterval: the poll interval must not be longer than the readiness timeout/, expect: { at: 'workflow', type: 'InvalidRequest', message: /readiness\.pollInterval: the poll interval must not be longer/ } },
  { name: 'an unknown router', request: (c) => valid(c, { routes: [haproxyRoute({ router: 'istio' })] }),
    client: /^routes\.0\.router: router must be one of "haproxy", "gateway-api", "ingress-nginx"/, expect: { at: 'workflow', type: 'InvalidRequest', message: /routes\.0\.router: router must be one of/ } },
  { name: 'a route listed twice', request: (c) => valid(c, { routes: [haproxyRoute(), haproxyRoute()] }),
    client: /^routes\.1\.name: route "web" is listed twice/, expect: { at: 'workflow', type: 'InvalidRequest', message: /routes\.1\.name: route "web" is listed twice/ } },
  { name: 'a route without workloads', request: (c) => valid(c, { routes: [haproxyRoute({ workloads: [] })] }),
    client: /^routes\.0\.workloads: list at least one workload/, expect: { at: 'workflow', type: 'InvalidRequest', message: /routes\.0\.workloads: list at least one workload/ } },
  { name: 'a backup id with a path traversal', request: (c) => valid(c, { task: 'restore', backupId: '../seed/x' }),
    client: /^backupId: a backup id: lower-case letters, digits and "-"/, expect: { at: 'workflow', type: 'InvalidRequest', message: /backupId: a backup id/ } },
  { name: 'a backup id that is an absolute path', request: (c) => valid(c, { task: 'restore', backupId: '/etc/passwd' }),
    client: /^backupId: a backup id/, expect: { at: 'workflow', type: 'InvalidRequest', message: /backupId: a backup id/ } },
  { name: 'a prefix with a path traversal', request: (c) => valid(c, { storage: { bucket, prefix: `${c.storage.prefix}/../../../etc` } }),
    client: /^storage\.prefix: a key prefix without "\.\."/, expect: { at: 'workflow', type: 'InvalidRequest', message: /storage\.prefix: a key prefix without "\.\."/ } },
  { name: 'a prefix with a backslash traversal', request: (c) => valid(c, { storage: { bucket, prefix: `${c.storage.prefix}\\..\\x` } }),
    client: /^storage\.prefix: a key prefix/, expect: { at: 'workflow', type: 'InvalidRequest', message: /storage\.prefix: a key prefix/ } },
  { name: 'an invalid bucket name', request: (c) => valid(c, { storage: { bucket: 'My_Bucket', prefix: c.storage.prefix } }),
    client: /^storage\.bucket: an S3 bucket name/, expect: { at: 'workflow', type: 'InvalidRequest', message: /storage\.bucket: an S3 bucket name/ } },
  { name: 'a restore without a backup id', request: (c) => valid(c, { task: 'restore' }),
    client: /^backupId: a restore needs the id of an existing backup/, expect: { at: 'workflow', type: 'InvalidRequest', message: /backupId: a restore needs the id of an existing backup/ } },
  { name: 'the same source and target', request: (c) => valid(c, { target: { cluster: 'source' } }),
    client: /^target\.cluster: source and target must be different clusters/, expect: { at: 'workflow', type: 'InvalidRequest', message: /target\.cluster: source and target must be different/ } },
  { name: 'a cluster name that is no name', request: (c) => valid(c, { source: { cluster: 'source cluster' } }),
    client: /^source\.cluster: a cluster name as configured on the worker/, expect: { at: 'workflow', type: 'InvalidRequest', message: /source\.cluster: a cluster name/ } },
  { name: 'a namespace mapping to an invalid name', request: (c) => valid(c, { namespaces: { include: [srcNs], mapping: [`${srcNs}:Bad_Name`] } }),
    client: /^namespaces\.mapping\.0: /, expect: { at: 'workflow', type: 'InvalidRequest', message: /namespaces\.mapping\.0: / } },
  { name: 'an unknown task', request: (c) => valid(c, { task: 'copy' }),
    client: /^task: task must be one of "migrate", "backup", "restore", "plan"/, expect: { at: 'workflow', type: 'InvalidRequest', message: /task: task must be one of/ } },
  { name: 'no storage section', request: (c) => ({ ...valid(c), storage: undefined }),
    client: /^storage: required: \{ bucket: <S3 bucket>/, expect: { at: 'workflow', type: 'InvalidRequest', message: /storage: required: / } },
  { name: 'an invalid migration id', migrationId: `${run.toUpperCase()}_Bad`, request: (c) => valid(c),
    client: /^\(migration id\): migration id ".*" must be lower-case letters/, expect: { at: 'workflow', type: 'InvalidRequest', message: /\(workflow id\): migration id ".*" must be lower-case letters/ } },

  // --- Runtime cases: valid requests the worker refuses.
  { name: 'an unknown source cluster', request: (c) => valid(c, { source: { cluster: 'elsewhere' } }),
    expect: { at: 'checkConnectivity', type: 'UnknownCluster', message: /^unknown cluster "elsewhere": this worker knows "source", "target"/ } },
  { name: 'an unknown target cluster', request: (c) => valid(c, { target: { cluster: 'elsewhere' } }),
    expect: { at: 'checkConnectivity', type: 'UnknownCluster', message: /^unknown cluster "elsewhere": this worker knows "source", "target"/ } },
  { name: 'namespaces that match nothing', request: (c) => valid(c, { namespaces: { include: [`${run}-nothing-*`] } }),
    expect: { at: 'backupResources', type: 'InvalidRequest', message: new RegExp(`^no namespace of cluster "source" matches namespaces\\.include \\["${esc(run)}-nothing-\\*"\\]`) } },
  { name: 'a label selector that matches nothing', request: (c) => valid(c, { labelSelector: 'app=nothing-here' }),
    expect: { at: 'backupResources', type: 'InvalidRequest', message: new RegExp(`^nothing selected: namespace\\(s\\) ${esc(srcNs)} of cluster "source" hold no object of the selected types matching labelSelector "app=nothing-here"`) } },
  { name: 'resource types with no object (plan)', request: (c) => valid(c, { task: 'plan', resources: { include: ['cronjobs.batch'] } }),
    expect: { at: 'planMigration', type: 'InvalidRequest', message: /^nothing selected: .* hold no object of the selected types; a migration would only create empty namespaces/ } },
  { name: 'an invalid label selector', request: (c) => valid(c, { labelSelector: 'app in (web' }),
    expect: { at: 'backupResources', type: 'InvalidRequest', message: /^labelSelector "app in \(web" is not valid: / } },
  { name: 'a resource type the source does not serve', request: (c) => valid(c, { resources: { include: ['configmaps', 'doohickeys'] } }),
    expect: { at: 'backupResources', type: 'InvalidRequest', message: /^resources\.include names types that cluster "source" does not serve: doohickeys/ } },
  { name: 'a backup id that does not exist', request: (c) => restore(c, { backupId: `${c.id}-missing` }),
    expect: { at: 'describeBackup', type: 'BackupNotFound', message: /^backup "bi-[0-9a-f]+-\d+-missing" not found: s3:\/\/kubeferry\/test\/.*\/manifest\.json does not exist/ } },
  { name: 'a backup id that already exists (backup)', request: (c) => valid(c, { task: 'backup', backupId: c.backupId }), seed: async (c) => void (await copyOf(c)),
    expect: { at: 'backupResources', type: 'BackupExists', message: /^backup "bi-[0-9a-f]+-\d+-bk" already exists in s3:\/\/kubeferry\/.*; backups are never overwritten/ } },
  { name: 'a corrupted archive (bytes flipped)', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    await b.writeArchive(entry, flipByte(await b.read(entry.key)), { record: false });
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^archive s3:\/\/kubeferry\/.*\/resources\/configmaps\/attempt-\d+-part-00001\.ndjson\.gz is corrupted: sha256 [0-9a-f]{64} does not match/ } },
  { name: 'a checksum mismatch (manifest changed)', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    b.archive('serviceaccounts').sha256 = '0'.repeat(64);
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: new RegExp(`^archive s3://kubeferry/.*/resources/serviceaccounts/attempt-\\d+-part-00001\\.ndjson\\.gz is corrupted: sha256 [0-9a-f]{64} does not match ${'0'.repeat(64)} in the manifest`) } },
  { name: 'a corrupted archive whose checksum matches', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    await b.writeArchive(entry, Buffer.from('this is not gzip'), { record: true });
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^archive s3:\/\/kubeferry\/.*\/configmaps\/attempt-\d+-part-00001\.ndjson\.gz of backup "[^"]+" is corrupted: its checksum matches the manifest, but it is not gzip-compressed JSON lines/ } },
  { name: 'a tampered encrypted archive', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('secrets');
    await b.writeArchive(entry, flipByte(await b.read(entry.key)), { record: true });
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^archive s3:\/\/kubeferry\/.*\/resources\/secrets\/attempt-\d+-part-00001\.ndjson\.gz\.enc of backup "[^"]+" cannot be decrypted: its authentication tag does not match/ } },
  // Someone who can write to the bucket but holds no backup key: every checksum made to match, and still
  // refused before anything of the backup is used, because the manifest's authentication no longer holds.
  { name: 'a consistently re-checksummed backup planting a ClusterRoleBinding to cluster-admin, without the backup key', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    await b.writeObjects(entry, [...await b.objects(entry), {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'planted-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' }],
    }]);
    await b.writePlan(await b.plan(), 1);
    await b.saveManifest(undefined, { authenticate: false });
  }, expect: { at: 'describeBackup', type: 'CorruptBackup', message: /^the manifest of backup "[^"]+" \(s3:\/\/kubeferry\/.*\/manifest\.json\) is refused: its authentication code does not match: it was changed after kubeferry wrote it\. Nothing of the backup is used/ } },
  { name: 'a backup whose authentication was removed, read by a worker with backup keys', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    delete b.manifest.authentication;
    await b.saveManifest(undefined, { authenticate: false });
  }, expect: { at: 'describeBackup', type: 'BackupNotAuthenticated', message: /^the manifest of backup "[^"]+" .* carries no authentication .*set backupEncryption\.acceptUnauthenticatedBackups: true/ } },
  { name: 'a Secret archive swapped in from another backup, checksums recomputed and manifest authenticated', request: (c) => restore(c), seed: async (c) => {
    const other = await copyOf(c, seed.base, `${c.backupId}-other`);
    const b = await copyOf(c);
    // Even a manifest authenticated by a key holder cannot make one backup's Secrets pass for another's.
    await b.writeArchive(b.archive('secrets'), await other.read(other.archive('secrets').key), { record: true });
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^archive s3:\/\/kubeferry\/.*\/secrets\/.*part-00001\.ndjson\.gz\.enc of backup "[^"]+" cannot be decrypted: its authentication tag does not match: it was changed after it was written, or it belongs to another backup, type or part/ } },
  // Tampered backups whose checksums were recomputed and whose manifest a key holder authenticated again:
  // refused all the same by what the format itself fixes (defence in depth behind the authentication).
  { name: 'an archive holding an object outside the namespaces of the backup, checksums recomputed', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    await b.writeObjects(entry, [...await b.objects(entry), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'planted', namespace: 'kube-system' }, data: { k: 'v' } }]);
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^archive s3:\/\/kubeferry\/.*\/configmaps\/attempt-\d+-part-00001\.ndjson\.gz of backup "[^"]+" holds object \d+ \(ConfigMap kube-system\/planted\), outside the backup's namespaces; nothing of it was restored/ } },
  { name: 'an archive holding an object of another type, checksums recomputed', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    await b.writeObjects(entry, [...await b.objects(entry), {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'planted-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' }],
    }]);
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /holds object \d+ \(ClusterRoleBinding planted-admin\), which is not v1 ConfigMap/ } },
  { name: 'an archive key pointing into another backup', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    const elsewhere = entry.key.replace(`/backups/${c.backupId}/`, `/backups/${c.backupId}-other/`);
    await store.put(bucket, elsewhere, await b.read(entry.key));
    entry.key = elsewhere;
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /-other\/resources\/configmaps\/attempt-\d+-part-00001\.ndjson\.gz of backup "[^"]+" is not where the format puts part 1 of configmaps/ } },
  { name: 'an archive larger than its manifest entry', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    const entry = b.archive('configmaps');
    const data = Buffer.concat([await b.read(entry.key), Buffer.alloc(4096)]);
    await b.writeArchive(entry, data, { record: false });
    entry.sha256 = sha256(data);
    await b.saveManifest();
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /configmaps\/attempt-\d+-part-00001\.ndjson\.gz of backup "[^"]+" is larger than its manifest entry \(\d+ bytes\)/ } },
  { name: 'a missing archive', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    await store.delete(bucket, b.archive('configmaps').key);
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^archive s3:\/\/kubeferry\/.*\/configmaps\/attempt-\d+-part-00001\.ndjson\.gz of backup "[^"]+" is missing/ } },
  { name: 'a corrupted restore plan', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    // A plan of its own checksum (the worker caches verified plans by checksum), then damaged.
    await b.writePlan(await b.plan(), 1);
    await b.saveManifest();
    await store.put(bucket, b.manifest.plan.key, flipByte(await b.read(b.manifest.plan.key)));
  }, expect: { at: 'preflightRestore', type: 'CorruptBackup', message: /^the restore plan s3:\/\/kubeferry\/.*\/plan(-attempt-\d+)?\.json of backup "[^"]+" is corrupted \(sha256 mismatch\)/ } },
  { name: 'a manifest that is not JSON', request: (c) => restore(c), seed: async (c) => (await copyOf(c)).saveManifest('{"formatVersion": 2, "types": ['),
    expect: { at: 'describeBackup', type: 'CorruptBackup', message: /^the manifest of backup "[^"]+" \(s3:\/\/kubeferry\/.*\/manifest\.json\) is not valid JSON/ } },
  { name: 'a manifest cut short', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    await b.saveManifest({ formatVersion: b.manifest.formatVersion, backupId: b.manifest.backupId, types: b.manifest.types });
  }, expect: { at: 'describeBackup', type: 'CorruptBackup', message: /^the manifest of backup "[^"]+" \(.*\) is damaged: namespaces is not a list, kinds is not a list, archives is not a list, .*plan lacks its key, sha256 or waves/ } },
  { name: 'an unsupported manifest version', request: (c) => restore(c), seed: async (c) => {
    const b = await copyOf(c);
    b.manifest.formatVersion = 4;
    await b.saveManifest();
  }, expect: { at: 'describeBackup', type: 'UnsupportedBackupVersion', message: /^backup "[^"]+" has format version 4; this worker reads versions 2 and 3/ } },
  { name: 'a restore selecting fewer resource types than its backup holds', request: (c) => restore(c, { resources: { include: ['configmaps'], exclude: [] } }), seed: async (c) => void (await copyOf(c)),
    expect: { at: 'preflightRestore', type: 'InvalidRequest', message: /^a restore restores all of backup "[^"]+", and this request selects less: resources .*"configmaps".* differ from the backup's/ } },
  { name: 'a restore with a label selector its backup was not taken with', request: (c) => restore(c, { labelSelector: 'app=web' }), seed: async (c) => void (await copyOf(c)),
    expect: { at: 'preflightRestore', type: 'InvalidRequest', message: /^a restore restores all of backup "[^"]+", and this request selects less: labelSelector "app=web" differs from the backup's \(none\)/ } },
  { name: 'a target missing a CRD', request: (c) => restore(c, { namespaces: { include: [crdNs], mapping: [`${crdNs}:${c.id}`] } }),
    seed: async (c) => void (await copyOf(c, seed.noCrd)),
    expect: { at: 'preflightRestore', type: 'TypeNotServed', message: new RegExp(`^the target cluster "target" does not serve 1 type\\(s\\) of backup "[^"]+", and the backup brings no CRD for them; nothing was written\\. Install them in the target first: gizmos\\.${esc(group)} \\(${esc(group)}/v1 Gizmo\\)`) } },
  { name: 'an object larger than the API server accepts', request: (c) => restore(c), seed: (c) => withLargeConfigMap(c, 'huge', 3_500_000),
    expect: { at: 'preflightRestore', type: 'ObjectTooLarge', message: new RegExp(`^1 object\\(s\\) of backup "[^"]+" are larger than a Kubernetes API server accepts.*nothing was written.*: ConfigMap ${esc(srcNs)}/huge \\(3\\.3 MiB of JSON; the API server takes at most 3\\.0 MiB per request\\)`) } },
  { name: 'a ConfigMap with more data than a ConfigMap holds', request: (c) => restore(c), seed: (c) => withLargeConfigMap(c, 'big', 1_200_000),
    expect: { at: 'preflightRestore', type: 'ObjectTooLarge', message: new RegExp(`ConfigMap ${esc(srcNs)}/big \\(1\\.1 MiB of data; a ConfigMap holds at most 1\\.0 MiB\\)`) } },
  { name: 'objects that already exist with existingObjects "fail"', request: (c) => restore(c, { existingObjects: 'fail' }), seed: async (c) => {
    await copyOf(c);
    await target.request('POST', '/api/v1/namespaces', { body: { metadata: { name: c.id } } });
    await target.request('POST', `/api/v1/namespaces/${c.id}/configmaps`, { body: { metadata: { name: 'app-config' }, data: { mine: 'yes' } } });
  }, expect: { at: 'workflow', type: 'Conflict', message: /^2 object\(s\) of backup "[^"]+" already exist in target and existingObjects is "fail"; nothing was written\..*Existing: .*ConfigMap bi-[0-9a-f]+-\d+\/app-config/ } },
  { name: 'a route naming an HAProxy backend that does not exist', request: (c) => valid(c, { routes: [haproxyRoute({ backend: 'nope' })] }),
    expect: { at: 'checkConnectivity', type: 'RouterMisconfigured', message: /^route "web": HAProxy: cannot read the weights? of nope\/source[\s\S]*No such backend/ } },
  { name: 'a route naming an HAProxy server that does not exist', request: (c) => valid(c, { routes: [haproxyRoute({ targetServer: 'green' })] }),
    expect: { at: 'checkConnectivity', type: 'RouterMisconfigured', message: /^route "web": HAProxy: cannot read the weights? of (web\/source and )?web\/green[\s\S]*No such server/ } },
  { name: 'a gateway-api route naming an HTTPRoute that does not exist',
    request: (c) => valid(c, { routes: [{ name: 'web', router: 'gateway-api', cluster: 'target', namespace: c.id, httpRoute: 'nope', sourceBackend: 'web-source', targetBackend: 'web-target', workloads: [`${srcNs}/web`] }] }),
    expect: { at: 'checkConnectivity', type: 'RouterMisconfigured', message: /^route "web": HTTPRoute bi-[0-9a-f]+-\d+\/nope does not exist/ } },
  { name: 'an ingress-nginx route naming a canary Ingress that does not exist',
    request: (c) => valid(c, { routes: [{ name: 'web', router: 'ingress-nginx', cluster: 'target', namespace: c.id, canaryIngress: 'nope', workloads: [`${srcNs}/web`] }] }),
    expect: { at: 'checkConnectivity', type: 'RouterMisconfigured', message: /^route "web": Ingress bi-[0-9a-f]+-\d+\/nope does not exist/ } },
  { name: 'a route in a cluster the worker does not know',
    request: (c) => valid(c, { routes: [{ name: 'web', router: 'gateway-api', cluster: 'edge', namespace: c.id, httpRoute: 'web', sourceBackend: 'a', targetBackend: 'b', workloads: [`${srcNs}/web`] }] }),
    expect: { at: 'checkConnectivity', type: 'UnknownCluster', message: /^unknown cluster "edge": this worker knows "source", "target"/ } },
  { name: 'a route naming a workload the backup does not hold',
    request: (c) => restore(c, { routes: [haproxyRoute({ workloads: [`${srcNs}/nope`] })] }), seed: async (c) => void (await copyOf(c)),
    expect: { at: 'preflightRestore', type: 'InvalidRequest', message: new RegExp(`^routes name workloads that backup "[^"]+" does not hold .*: route "web": ${esc(srcNs)}/nope\\. Its workloads: ${esc(srcNs)}/web`) } },
];

const outcomes = new Map<string, Promise<Outcome>>();
const contexts = new Map<string, Ctx>();
/** migration id -> objects labelled with it in the target ("Kind namespace/name"). */
let labelled = new Map<string, string[]>();

async function startCase(c: Case, ctx: Ctx): Promise<Outcome> {
  await c.seed?.(ctx);
  const seeded = (await store.list(bucket, `${ctx.storage.prefix}/`)).sort();
  const request = c.request(ctx);
  let clientError: unknown;
  let handle: WorkflowHandle;
  if (c.client) {
    clientError = await startMigration(client, taskQueue, ctx.id, request as unknown as MigrationRequestInput).then(() => undefined, (err: unknown) => err);
    // Past the client: the same plain JSON, started by type name.
    handle = await client.workflow.start('migrateCluster', { taskQueue, workflowId: ctx.id, args: [JSON.parse(JSON.stringify(request))] });
  } else {
    handle = await startMigration(client, taskQueue, ctx.id, request as unknown as MigrationRequestInput);
  }
  const error = await handle.result().then(() => undefined, (err: unknown) => err);
  return { error, clientError, history: await handle.fetchHistory(), seeded, keysAfter: (await store.list(bucket, `${ctx.storage.prefix}/`)).sort() };
}

/** Every object in the target that carries a migration id of this run, by migration id. */
async function sweepTarget(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const types = (await discover(target)).preferred.filter((t) => t.verbs.includes('list'));
  await Promise.all(types.map(async (t) => {
    let list: { items: RawObject[] };
    try {
      // Retried like the product's calls: a type whose storage is still initializing answers 429 for a moment.
      list = await withApiRetry(() => target.get<{ items: RawObject[] }>(resourcePath(t), { query: { labelSelector: MIGRATION_ID_LABEL } }));
    } catch (err) {
      if (err instanceof KubeApiError && [404, 405, 503].includes(err.code)) return;
      throw err;
    }
    for (const o of list.items) {
      const id = o.metadata?.labels?.[MIGRATION_ID_LABEL] ?? '';
      if (!id.startsWith(`${run}-`)) continue;
      found.set(id, [...(found.get(id) ?? []), `${t.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`]);
    }
  }));
  return found;
}

interface Attempts {
  scheduled: Map<string, number>;
  /** activity type -> attempts of each of its executions (Started events carry the last attempt). */
  attempts: Map<string, number[]>;
  workflowTaskFailures: number;
  /** The input of each scheduled activity, decoded. */
  inputs: Map<string, unknown[]>;
}

function attemptsIn(history: Outcome['history']): Attempts {
  const typeById = new Map<string, string>();
  const result: Attempts = { scheduled: new Map(), attempts: new Map(), workflowTaskFailures: 0, inputs: new Map() };
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const type = scheduled.activityType?.name ?? '?';
      typeById.set(String(e.eventId), type);
      result.scheduled.set(type, (result.scheduled.get(type) ?? 0) + 1);
      const input = scheduled.input?.payloads?.map((p) => defaultPayloadConverter.fromPayload(p as Payload)) ?? [];
      result.inputs.set(type, [...(result.inputs.get(type) ?? []), input[0]]);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeById.get(String(started.scheduledEventId)) ?? '?';
      result.attempts.set(type, [...(result.attempts.get(type) ?? []), started.attempt ?? 0]);
    }
    if (e.workflowTaskFailedEventAttributes) result.workflowTaskFailures += 1;
  }
  return result;
}

/** Where the run failed: the activity (or "workflow") and the application failure. */
function failureOf(error: unknown): { at: string; failure: ApplicationFailure; retryState?: string } {
  assert.ok(error instanceof WorkflowFailedError, `expected the workflow to fail, got ${error === undefined ? 'success' : String(error)}`);
  const cause = error.cause;
  if (cause instanceof ActivityFailure) {
    assert.ok(cause.cause instanceof ApplicationFailure, `activity ${cause.activityType} failed with ${String(cause.cause)}`);
    return { at: cause.activityType, failure: cause.cause, retryState: cause.retryState };
  }
  assert.ok(cause instanceof ApplicationFailure, `the workflow failed with ${String(cause)}`);
  return { at: 'workflow', failure: cause };
}

/** Deletes what a failing case left in the target, so one regression does not leak into later runs. */
async function removeLeftovers(ids: string[]): Promise<void> {
  const namespaced = ids.flatMap((id) => labelled.get(id) ?? []).filter((o) => o.startsWith('Namespace '));
  await Promise.all(namespaced.map((o) => target.request('DELETE', `/api/v1/namespaces/${o.split(' ')[1]}`).catch(() => undefined)));
}

describe('bad input on the local stack: a clear message, no retries, nothing left behind', { concurrency: true }, () => {
  before(async () => {
    stack = await startStackWorker(run);
    ({ client, source, target } = stack);
    taskQueue = stack.config.temporal.taskQueue;
    store = new ObjectStore(stack.config.storage);
    keys = loadBackupKeyring(stack.config.backupEncryption!);

    // The source: a namespace with a ConfigMap, a Secret, a ServiceAccount and a Deployment; another with
    // a custom resource whose CRD only the source has.
    const post = (path: string, body: object) => source.request('POST', path, { body });
    await post('/api/v1/namespaces', { metadata: { name: srcNs } });
    await post('/api/v1/namespaces', { metadata: { name: crdNs } });
    await post(`/api/v1/namespaces/${srcNs}/configmaps`, { metadata: { name: 'app-config', labels: { app: 'web' } }, data: { MODE: 'fast' } });
    await post(`/api/v1/namespaces/${srcNs}/secrets`, { metadata: { name: 'app-secret', labels: { app: 'web' } }, stringData: { password: `pw-${run}` } });
    await post(`/api/v1/namespaces/${srcNs}/serviceaccounts`, { metadata: { name: 'app' } });
    await post(`/apis/apps/v1/namespaces/${srcNs}/deployments`, {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } } },
    });
    await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      metadata: { name: `gizmos.${group}` },
      spec: {
        group, scope: 'Namespaced', names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', listKind: 'GizmoList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    for (let i = 0; ; i++) {
      const crd = await source.get<{ status?: { conditions?: { type: string; status: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${group}`);
      if (crd.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (i > 120) throw new Error(`CRD gizmos.${group} not Established`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await post(`/apis/${group}/v1/namespaces/${crdNs}/gizmos`, { apiVersion: `${group}/v1`, kind: 'Gizmo', metadata: { name: 'g1' }, spec: { size: 1 } });

    // Two real backups to damage: the app namespace, and the custom resource without its CRD.
    const storage = { bucket, prefix: seed.prefix };
    const backups = await Promise.all([
      startMigration(client, taskQueue, `${run}-seed-base`, { ...clusters, storage, backupId: seed.base, task: 'backup', namespaces: { include: [srcNs] } }),
      startMigration(client, taskQueue, `${run}-seed-nocrd`, {
        ...clusters, storage, backupId: seed.noCrd, task: 'backup', namespaces: { include: [crdNs] },
        resources: { exclude: ['customresourcedefinitions.apiextensions.k8s.io'] },
      }),
    ]);
    for (const b of backups) assert.equal((await b.result()).status, 'Completed');

    cases.forEach((c, i) => {
      const id = c.migrationId ?? `${run}-${String(i).padStart(2, '0')}`;
      const ctx: Ctx = { id, storage: { bucket, prefix: `${root}/c${String(i).padStart(2, '0')}` }, backupId: `${run}-${String(i).padStart(2, '0')}-bk` };
      contexts.set(c.name, ctx);
      const outcome = startCase(c, ctx);
      outcome.catch(() => undefined);
      outcomes.set(c.name, outcome);
    });
    await Promise.allSettled(outcomes.values());
    labelled = await sweepTarget();
  });

  after(async () => {
    await removeLeftovers([...labelled.keys()]).catch(() => undefined);
    if (store) await Promise.all((await store.list(bucket, `${root}/`)).map((k) => store.delete(bucket, k)));
    await Promise.all([...contexts.values()].map((ctx) => target?.request('DELETE', `/api/v1/namespaces/${ctx.id}`).catch(() => undefined)));
    for (const ns of [srcNs, crdNs]) await source?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await source?.request('DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gizmos.${group}`).catch(() => undefined);
    await stack?.stop();
  });

  it(`has at least 30 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 30);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  });

  for (const c of cases) {
    it(c.name, async (t: TestContext) => {
      const ctx = contexts.get(c.name)!;
      const outcome = await outcomes.get(c.name)!;

      if (c.client) {
        assert.ok(outcome.clientError instanceof InvalidRequestError, `the client accepted the request: ${String(outcome.clientError)}`);
        assert.ok(outcome.clientError.problems.some((p) => c.client!.test(p)), `client problems: ${JSON.stringify(outcome.clientError.problems)}`);
      }
      const { at, failure, retryState } = failureOf(outcome.error);
      const attempts = attemptsIn(outcome.history);
      const report = `${c.name} | ${at} | ${failure.type} | ${failure.message.replace(/\n\s*/g, ' ')}`;
      t.diagnostic(report);

      // (1) The message names what is wrong, with the failure's type.
      assert.equal(failure.type, c.expect.type, failure.message);
      assert.match(failure.message, c.expect.message);

      // (2) No retries: a non-retryable failure, and no activity (nor workflow task) ran twice.
      // The workflow's retry policies stop at these (src/domain/failures.ts).
      assert.ok((NON_RETRYABLE as readonly string[]).includes(failure.type!), `${failure.type} is not non-retryable`);
      assert.equal(failure.nonRetryable, true, 'the failure is marked non-retryable');
      assert.equal(attempts.workflowTaskFailures, 0, 'a workflow task failed (and would be retried)');
      for (const [activity, list] of attempts.attempts) assert.deepEqual(list.filter((n) => n !== 1), [], `${activity} ran more than once`);
      if (at !== 'workflow') {
        assert.equal(retryState, 'NON_RETRYABLE_FAILURE');
        assert.equal(attempts.scheduled.get(at), 1, `${at} was scheduled ${attempts.scheduled.get(at)} times`);
      }
      if (c.client) assert.equal(attempts.scheduled.size, 0, `activities ran for a request the workflow refuses: ${[...attempts.scheduled.keys()].join(', ')}`);

      assert.equal(at, c.expect.at, failure.message);

      // (3) Nothing left behind: no object of this migration in the target, no new key in S3.
      assert.deepEqual(labelled.get(ctx.id) ?? [], [], 'objects labelled with the migration id in the target');
      assert.deepEqual(outcome.keysAfter, outcome.seeded, `keys under s3://${bucket}/${ctx.storage.prefix}/`);
    });
  }

  it('refuses bad routes in checkConnectivity and preflightRestore, before any write, when it is given them', async () => {
    // The activities themselves, run directly, refuse bad routes and accept a good one.
    const activities = createActivities(depsFromConfig(stack.config));
    const env = () => new MockActivityEnvironment();
    const storage = { bucket, prefix: `${root}/activities` };
    const connectivity = (routes: unknown[]) => env().run(activities.checkConnectivity, {
      ...{ source: 'source', target: 'target', storage }, needs: { source: true, target: true, storage: false },
      routes: routes.map((r) => routeSchema.parse(r)),
    });
    const refused = async (p: Promise<unknown>, type: string, message: RegExp) => assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
      assert.equal(err.type, type);
      assert.match(err.message, message);
      return true;
    });
    await connectivity([haproxyRoute()]);
    await refused(connectivity([haproxyRoute({ backend: 'nope' })]), 'RouterMisconfigured', /^route "web": HAProxy: cannot read the weights? of nope\/source[\s\S]*No such backend/);
    await refused(connectivity([haproxyRoute({ targetServer: 'green' })]), 'RouterMisconfigured', /^route "web": HAProxy: cannot read the weights? of (web\/source and )?web\/green[\s\S]*No such server/);
    await refused(connectivity([{ name: 'web', router: 'gateway-api', cluster: 'target', namespace: srcNs, httpRoute: 'nope', sourceBackend: 'a', targetBackend: 'b', workloads: [`${srcNs}/web`] }]),
      'RouterMisconfigured', new RegExp(`^route "web": HTTPRoute ${esc(srcNs)}/nope does not exist`));
    await refused(connectivity([{ name: 'web', router: 'ingress-nginx', cluster: 'target', namespace: srcNs, canaryIngress: 'nope', workloads: [`${srcNs}/web`] }]),
      'RouterMisconfigured', new RegExp(`^route "web": Ingress ${esc(srcNs)}/nope does not exist`));
    await refused(connectivity([{ name: 'web', router: 'gateway-api', cluster: 'edge', namespace: srcNs, httpRoute: 'web', sourceBackend: 'a', targetBackend: 'b', workloads: [`${srcNs}/web`] }]),
      'UnknownCluster', /^unknown cluster "edge"/);

    const preflight = (workloads: string[]): Promise<PreflightReport> => env().run(activities.preflightRestore, {
      backupId: seed.base, target: 'target', storage: { bucket, prefix: seed.prefix }, findConflicts: false, namespaceMapping: {},
      routes: [{ name: 'web', workloads }],
    });
    assert.ok((await preflight([`${srcNs}/web`])).objects > 0);
    await refused(preflight([`${srcNs}/nope`]), 'InvalidRequest', new RegExp(`^routes name workloads that backup "${esc(seed.base)}" does not hold .*route "web": ${esc(srcNs)}/nope`));
    assert.deepEqual(await store.list(bucket, `${storage.prefix}/`), []);
  });

  it('wrote no key outside the cases\' own prefixes, and none with ".." in it', async () => {
    await Promise.allSettled(outcomes.values());
    const prefixes = [seed.prefix, ...[...contexts.values()].map((c) => c.storage.prefix)].map((p) => `${p}/`);
    const keys = await store.list(bucket, `${root}/`);
    assert.deepEqual(keys.filter((k) => k.includes('..') || !prefixes.some((p) => k.startsWith(p))), []);
    assert.deepEqual(await store.list(bucket, 'etc/'), [], 'a key under etc/');
  });
});
