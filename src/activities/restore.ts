// Restore: create one wave's objects in the target, archive part by archive part, in parallel chunks,
// each object sanitized. After each chunk the activity heartbeats a cursor (part, offset, counts): a
// worker killed mid-wave resumes at that chunk, and an object of the interrupted chunk that was already
// created is recognised by this migration's label, so nothing is counted or created twice.
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { heartbeatOrStop } from './cancellation.js';
import type { PreflightInput, PreflightReport, RestoreWaveInput, RestoreWaveResult } from './contract.js';
import type { BackupKeyring } from '../store/archive-crypto.js';
import type { BackupManifest, RawObject, TypeEntry } from '../store/backup-format.js';
import { mapNamespace, type NamespaceMapping } from '../domain/namespace-mapping.js';
import { objectId } from '../domain/references.js';
import type { Cluster, ClusterRegistry } from '../kube/clusters.js';
import type { ObjectStore } from '../store/object-store.js';
import { sanitize, type SanitizeContext } from '../objects/sanitize/index.js';
import { describe } from '../objects/describe.js';
import { sizeProblem } from '../objects/size-limits.js';
import { notServed } from '../objects/served-types.js';
import { restoreSelectionProblem } from '../domain/restore-selection.js';
import { oneToOneProblem } from '../domain/namespace-selection.js';
import type { OwnerKey } from '../objects/raw-object.js';
import { saveOverwritten } from '../store/overwritten.js';
import { writeCreated, type CreatedObject } from '../store/created-records.js';
import { serverSetMetadata } from '../objects/sanitize/server-set-metadata.js';
import { applyOver, AutoscaledWorkloads, differsInTarget, FIELD_MANAGER, withoutReplicas } from './conflicts.js';
import { discover } from '../kube/discovery.js';
import { resourcePath, type ResourcePath } from '../kube/rest.js';
import { routeWorkloadsOf } from './readiness.js';
import { forEachConcurrently } from '../concurrency.js';
import { isRouterObject, routerObjectProblems, routerObjectsIn } from './routes.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION, PRE_EXISTING_ANNOTATION } from '../objects/labels.js';
import { apiMessage, apiStatus, apiUnavailable, withApiRetry } from '../kube/errors.js';
import { loadArchive, readManifest, readPlan } from '../store/backup-store.js';
import { FAILURE } from '../domain/failures.js';
import type { WorkerPolicy } from '../config/worker-policy.js';
import { enforcePolicy } from './policy.js';

/** Objects per heartbeat. The SDK sends heartbeats at most every ~48 s (80 % of the heartbeat timeout), so a resumed wave redoes the chunks since the last one that reached the server. */
export const CHUNK = 200;
const MAX_REPORTED_ERRORS = 20;

interface RestoreCursor {
  archive: number;
  offset: number;
  result: RestoreWaveResult;
}

export async function restoreWave(
  clusters: ClusterRegistry,
  store: ObjectStore,
  keys: BackupKeyring | undefined,
  input: RestoreWaveInput,
): Promise<RestoreWaveResult> {
  const manifest = await readManifest(store, input.storage, input.backupId, keys);
  const target = clusters.get(input.target);
  const plan = await readPlan(store, input.storage, manifest);
  const ids = new Set(plan.waves[input.wave] ?? []);
  const kindKeys = new Set([...ids].map((id) => id.slice(0, id.indexOf('/'))));
  const types = new Map(manifest.types.filter((t) => kindKeys.has(t.kindKey)).map((t) => [t.name, t]));
  const archives = manifest.archives.filter((a) => types.has(a.type));

  const info = Context.current().info;
  const resumed = info.heartbeatDetails as RestoreCursor | undefined;
  // Objects labelled with this id but written before runs were recorded: this run's own only when it is resuming.
  const run: RunIdentity = { runId: info.workflowExecution?.runId ?? '', resuming: resumed !== undefined || info.attempt > 1 };
  const cursor: RestoreCursor = resumed?.result?.wave === input.wave
    ? resumed
    : { archive: 0, offset: 0, result: { wave: input.wave, created: 0, skipped: 0, updated: 0, failed: 0, errors: [], differing: 0, differences: [] } };
  const result = cursor.result;
  const owners = new OwnerLookup(target, manifest);
  const autoscaled = new AutoscaledWorkloads(target);
  const keepOriginal = (type: TypeEntry, existing: RawObject) => saveOverwritten(store, keys, {
    storage: input.storage, backupId: input.backupId, migrationId: input.migrationId, type: type.name, namespace: existing.metadata?.namespace, name: existing.metadata!.name!,
  }, asItWas(existing));
  const ctx: SanitizeContext = {
    migrationId: input.migrationId,
    ...(run.runId ? { runId: run.runId } : {}),
    namespaceMapping: input.namespaceMapping,
    sourceNamespaces: new Set(manifest.namespaces),
    keepNodePorts: input.keepNodePorts,
    ownerUid: (ref) => owners.uid(ref),
  };

  // The next part is fetched and decoded while this one is written, so the API server never waits on S3.
  const load = (i: number) => {
    const archive = archives[i]!;
    const type = types.get(archive.type)!;
    const loading = loadArchive(store, input.storage, manifest, archive, keys)
      .then((objs) => objs.filter((o) => ids.has(objectId(type.kindKey, o.metadata?.namespace, o.metadata!.name!))));
    loading.catch(() => undefined); // awaited in its turn; not an unhandled rejection meanwhile
    return loading;
  };
  let next = cursor.archive < archives.length ? load(cursor.archive) : undefined;
  for (; cursor.archive < archives.length; cursor.archive++, cursor.offset = 0) {
    const type = types.get(archives[cursor.archive]!.type)!;
    const objects = await next!;
    next = cursor.archive + 1 < archives.length ? load(cursor.archive + 1) : undefined;
    while (cursor.offset < objects.length) {
      const chunk = objects.slice(cursor.offset, cursor.offset + CHUNK);
      await owners.resolve(chunk.flatMap((o) => ownersOf(o, input.namespaceMapping)));
      const landings = chunk.map((o) => sanitize(o, ctx));
      // What the chunk may create is recorded before it runs, and what it created (by uid) after: cleanup
      // deletes by these records, so an object that only carries the migration's label is never taken for its own.
      const record = { storage: input.storage, backupId: input.backupId, migrationId: input.migrationId, runId: run.runId, wave: input.wave, archive: cursor.archive, offset: cursor.offset };
      const named = (o: RawObject): CreatedObject => ({ type: type.name, ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}), name: o.metadata!.name! });
      await writeCreated(store, keys, record, false, landings.map(named));
      const created: CreatedObject[] = [];
      await forEachConcurrently(landings, async (o) => {
        const uid = await restoreOne(target, type, o, input, result, run, autoscaled, keepOriginal);
        if (uid) created.push({ ...named(o), uid });
      }, target.concurrency);
      await writeCreated(store, keys, record, true, created);
      cursor.offset += chunk.length;
      heartbeatOrStop(cursor);
    }
  }
  const crds = [...ids].filter((id) => id.startsWith('CustomResourceDefinition//')).map((id) => id.split('/')[2]!);
  if (crds.length) await waitEstablished(target, crds);
  return result;
}

/** The owners an object names, in the namespace it lands in. */
function ownersOf(o: RawObject, mapping: NamespaceMapping): OwnerKey[] {
  const namespace = o.metadata?.namespace ? mapNamespace(mapping, o.metadata.namespace) : undefined;
  return (o.metadata?.ownerReferences ?? []).map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, namespace }));
}

/**
 * Owner references name the owner's uid, which differs in the target. The owner is restored in an earlier
 * wave (the plan orders owners first); its new uid is looked up once and the reference pointed at it. An
 * owner that is not in the target is dropped from the references: a dangling one would make the garbage
 * collector delete the object.
 */
class OwnerLookup {
  private readonly uids = new Map<string, string | undefined>();
  private served?: Map<string, ResourcePath>;

  constructor(private readonly target: Cluster, private readonly manifest: BackupManifest) {}

  private key = (r: OwnerKey) => `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;

  uid(r: OwnerKey): string | undefined {
    return this.uids.get(this.key(r));
  }

  async resolve(refs: OwnerKey[]): Promise<void> {
    const todo = refs.filter((r) => !this.uids.has(this.key(r)));
    if (todo.length === 0) return;
    await forEachConcurrently(todo, async (r) => {
      const type = await this.typeOf(r);
      let uid: string | undefined;
      if (type) {
        try {
          const owner = await withApiRetry(() => this.target.rest.get<RawObject>(resourcePath(type, r.namespace, r.name)));
          uid = owner.metadata?.uid;
        } catch (err) {
          if (apiStatus(err) !== 404) throw err;
        }
      }
      this.uids.set(this.key(r), uid);
    });
  }

  private async typeOf(r: OwnerKey) {
    const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0]! : '';
    const inBackup = this.manifest.types.find((t) => t.group === group && t.kind === r.kind);
    if (inBackup) return inBackup;
    if (!this.served) {
      this.served = new Map((await discover(this.target.rest)).preferred.map((t) => [`${t.group}/${t.kind}`, t]));
    }
    return this.served.get(`${group}/${r.kind}`);
  }
}

interface RunIdentity {
  runId: string;
  /** This activity resumes an interrupted one (a heartbeat, or a later attempt). */
  resuming: boolean;
}

/** Whether `existing` was created by this very run of the migration (before its worker was interrupted). */
export function createdByThisRun(existing: RawObject, migrationId: string, run: RunIdentity): boolean {
  if (existing.metadata?.labels?.[MIGRATION_ID_LABEL] !== migrationId) return false;
  // Updated over by this migration (existingObjects: update) before its worker was interrupted: it existed
  // before, so it is updated again and counted as updated, never as created.
  if (existing.metadata.annotations?.[PRE_EXISTING_ANNOTATION] === 'true') return false;
  const recorded = existing.metadata.annotations?.[MIGRATION_RUN_ANNOTATION];
  return recorded ? recorded === run.runId : run.resuming;
}

async function restoreOne(
  target: Cluster, type: TypeEntry, desired: RawObject, input: RestoreWaveInput, result: RestoreWaveResult, run: RunIdentity, autoscaled: AutoscaledWorkloads,
  keepOriginal: (type: TypeEntry, existing: RawObject) => Promise<void>,
): Promise<string | undefined> {
  const where = describe(desired);
  const collection = resourcePath(type, desired.metadata?.namespace);
  try {
    try {
      // As kubeferry's field manager: an update by a later migration then finds its own fields, not another's.
      const made = await withApiRetry(() => target.rest.request<RawObject>('POST', collection, { body: desired, query: { fieldManager: FIELD_MANAGER } }));
      result.created += 1;
      return made?.metadata?.uid;
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
      const existing = await withApiRetry(() => target.rest.get<RawObject>(resourcePath(type, desired.metadata?.namespace, desired.metadata!.name)));
      // Created by this very migration before its worker was interrupted: it counts as created once.
      if (createdByThisRun(existing, input.migrationId, run)) {
        result.created += 1;
        return existing.metadata?.uid;
      }
      if (input.existingObjects === 'fail') throw err;
      if (input.existingObjects === 'update') {
        // Not created by this migration: a rollback's cleanup must leave it.
        // What it was, kept before it is overwritten, so that a rollback puts it back.
        await keepOriginal(type, existing);
        const marked = { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata?.annotations, [PRE_EXISTING_ANNOTATION]: 'true' } } };
        const over = (await autoscaled.has(marked)) ? withoutReplicas(marked) : marked;
        await withApiRetry(() => applyOver(target, type, over, Boolean(input.forceConflicts)));
        result.updated += 1;
      } else {
        result.skipped += 1;
        if (await withApiRetry(() => differsInTarget(target, type, desired, existing))) {
          result.differing += 1;
          if (result.differences.length < MAX_REPORTED_ERRORS) result.differences.push(where);
        }
      }
    }
  } catch (err) {
    // The target not answering is not this object's fault: the wave fails and Temporal retries it from
    // its cursor, instead of recording the object as failed and going on without it.
    if (apiUnavailable(err)) throw err;
    // One object's failure is recorded and reported; it does not stop the others.
    result.failed += 1;
    if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push(`${where}: ${apiMessage(err)}`);
  }
  return undefined;
}

/** An object of the target as it can be applied again later: without what its server set (uid, versions, status). */
function asItWas(existing: RawObject): RawObject {
  const copy = structuredClone(existing);
  serverSetMetadata(copy, { migrationId: '' });
  delete copy.status;
  return copy;
}

/** A restored CustomResourceDefinition serves its kinds only once Established; the next wave needs them. */
async function waitEstablished(target: Cluster, names: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(names);
  while (pending.size) {
    for (const name of [...pending]) {
      try {
        const crd = await target.rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`);
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) pending.delete(name);
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
      }
    }
    if (!pending.size) return;
    if (Date.now() > deadline) {
      throw ApplicationFailure.retryable(`CustomResourceDefinitions not Established in the target after ${timeoutMs / 1000} s: ${[...pending].join(', ')}`, FAILURE.CrdNotEstablished);
    }
    heartbeat();
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Before a restore writes anything: the plan and every archive are read and checked (sha256, and the
 * authentication tag of encrypted ones); every type of the backup must be served by the target (or by a
 * CRD the backup brings); with `findConflicts`, every object is looked up in the target.
 */
export async function preflightRestore(
  clusters: ClusterRegistry,
  store: ObjectStore,
  keys: BackupKeyring | undefined,
  input: PreflightInput,
  routers: WorkerConfig['routers'] = {},
  policy?: WorkerPolicy,
): Promise<PreflightReport> {
  const manifest = await readManifest(store, input.storage, input.backupId, keys);
  enforcePolicy(policy, {
    source: manifest.sourceCluster, target: input.target, storage: input.storage,
    namespaces: [...manifest.namespaces, ...manifest.namespaces.map((ns) => mapNamespace(input.namespaceMapping, ns))],
    ...(input.existingObjects ? { existingObjects: input.existingObjects } : {}),
  });
  if (input.routes) routeWorkloadsOf(manifest, input.routes);
  const narrower = input.selection && restoreSelectionProblem(input.selection, manifest);
  if (narrower) throw ApplicationFailure.nonRetryable(narrower, FAILURE.InvalidRequest);
  const notOneToOne = oneToOneProblem(input.namespaceMapping, manifest.namespaces, `the namespaces of backup "${manifest.backupId}"`);
  if (notOneToOne) throw ApplicationFailure.nonRetryable(notOneToOne, FAILURE.InvalidRequest);
  // Router objects the restore may bring: found in the archives below, judged as they will land.
  const routerObjects = routerObjectsIn(routers, clusters, input.routers ?? [], input.target, input.namespaceMapping);
  const plan = await readPlan(store, input.storage, manifest);
  const target = clusters.get(input.target);
  const missing = notServed(manifest.types, (await discover(target.rest)).served, plan.waves.flat());
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `the target cluster "${input.target}" does not serve ${missing.length} type(s) of backup "${input.backupId}", and the backup ` +
        `brings no CRD for them; nothing was written. Install them in the target first: ${missing.join('; ')}`,
      FAILURE.TypeNotServed,
    );
  }
  const types = new Map(manifest.types.map((t) => [t.name, t]));
  const report: PreflightReport = { objects: 0, conflicts: 0, examples: [] };
  const tooLarge: string[] = [];
  let tooLargeCount = 0;
  for (const archive of manifest.archives) {
    const objects = await loadArchive(store, input.storage, manifest, archive, keys);
    report.objects += objects.length;
    heartbeatOrStop({ archive: archive.type });
    const type = types.get(archive.type)!;
    const landings = objects.map((obj) => sanitize(obj, { migrationId: '', namespaceMapping: input.namespaceMapping, sourceNamespaces: new Set(manifest.namespaces) }));
    for (const wanted of routerObjects) {
      const i = objects.findIndex((obj) => isRouterObject(wanted, type, obj));
      if (i >= 0) wanted.found = landings[i];
    }
    landings.forEach((landing, i) => {
      const problem = sizeProblem(landing);
      if (!problem) return;
      tooLargeCount += 1;
      // Named as in the source, where it has to be made smaller.
      if (tooLarge.length < MAX_REPORTED_ERRORS) tooLarge.push(`${describe(objects[i]!)} (${problem})`);
    });
    if (!input.findConflicts) continue;
    // Where each object would land, after the same sanitizing (namespace mapping) as the restore.
    await forEachConcurrently(landings, async (landing) => {
      if (await existsIn(target, type, landing)) {
        report.conflicts += 1;
        if (report.examples.length < MAX_REPORTED_ERRORS) report.examples.push(describe(landing));
      }
    });
  }
  const routeProblems = await routerObjectProblems(routerObjects, input.backupId, input.target);
  if (routeProblems.length) {
    throw ApplicationFailure.nonRetryable(`${routeProblems.join('; ')}; nothing was written`, FAILURE.RouterMisconfigured);
  }
  if (tooLargeCount) {
    throw ApplicationFailure.nonRetryable(
      `${tooLargeCount} object(s) of backup "${input.backupId}" are larger than a Kubernetes API server accepts, so the target would refuse ` +
        `them; nothing was written. Make them smaller in the source, or leave them out (labelSelector, resources.exclude): ${tooLarge.join('; ')}`,
      FAILURE.ObjectTooLarge,
    );
  }
  return report;
}

export async function existsIn(target: Cluster, type: Pick<TypeEntry, 'group' | 'version' | 'resource' | 'namespaced'>, o: RawObject): Promise<boolean> {
  try {
    await withApiRetry(() => target.rest.get(resourcePath(type, o.metadata?.namespace, o.metadata!.name)));
    return true;
  } catch (err) {
    if (apiStatus(err) !== 404) throw err;
    return false;
  }
}
