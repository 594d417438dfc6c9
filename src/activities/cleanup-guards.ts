// What keeps cleanup exact: a delete removes the very object the migration created (a uid precondition),
// a Namespace or CRD that now holds objects others made is kept and reported rather than cascading them
// away, and an object a finalizer holds is reported, not counted as deleted.
import type { Cluster } from '../kube/clusters.js';
import { apiStatus, withApiRetry } from '../kube/errors.js';
import { resourcePath } from '../kube/rest.js';
import { discover } from '../kube/discovery.js';
import { resourceTypeName, selectResourceTypes } from '../domain/resource-filter.js';
import { describe } from '../objects/describe.js';
import { leaveOutReason } from '../objects/leave-out.js';
import { MIGRATION_ID_LABEL } from '../objects/labels.js';
import type { RawObject, TypeEntry } from '../store/backup-format.js';

const EXAMPLES = 5;
const notOurs = `!${MIGRATION_ID_LABEL}`;
/** Finalizers the control plane itself removes as it deletes; anything else needs a controller the target may lack. */
const CONTROL_PLANE_FINALIZERS = new Set(['kubernetes', 'customresourcecleanup.apiextensions.k8s.io', 'kubernetes.io/pvc-protection',
  'kubernetes.io/pv-protection', 'foregroundDeletion', 'orphan']);
const STUCK_AFTER_MS = 10_000;

type Listed = { items?: RawObject[] };

/** Which objects carrying the migration's label it really created (from its records). */
export interface Labelled {
  /** The migration's label selector. */
  selector: string;
  ours: (typeName: string, o: RawObject) => boolean;
}

/**
 * Objects in a namespace of the target that the migration did not create and that the target did not make
 * by itself: of a type kubeferry copies, without the migration's label (or with it, but not among what the
 * migration recorded creating), owned by nothing, and not one of the objects every namespace gets (its
 * default ServiceAccount, kube-root-ca.crt, token Secrets).
 */
export async function foreignObjectsIn(target: Cluster, namespace: string, labelled?: Labelled): Promise<string[]> {
  const types = selectResourceTypes((await discover(target.rest)).preferred, { include: ['*'], exclude: [] }).selected.filter((t) => t.namespaced);
  const found: string[] = [];
  for (const t of types) {
    const passes: { selector: string; foreign: (o: RawObject) => boolean }[] = [{ selector: notOurs, foreign: () => true }];
    if (labelled) passes.push({ selector: labelled.selector, foreign: (o) => !labelled.ours(resourceTypeName(t), o) });
    for (const { selector, foreign } of passes) {
      if (found.length >= EXAMPLES) return found;
      const list = await withApiRetry(() => target.rest.get<Listed>(resourcePath(t, namespace), { query: { labelSelector: selector, limit: 50 } }));
      for (const o of list.items ?? []) {
        const obj = { ...o, kind: t.kind };
        if (obj.metadata?.ownerReferences?.length || leaveOutReason(obj) || !foreign(obj)) continue;
        if (found.length < EXAMPLES) found.push(describe(obj));
      }
    }
  }
  return found;
}

/** Custom resources of a CRD (in any namespace) that the migration did not create. */
export async function foreignCustomResources(target: Cluster, crd: RawObject): Promise<string[]> {
  const spec = (crd as { spec?: { group?: string; names?: { plural?: string; kind?: string }; versions?: { name: string; served?: boolean; storage?: boolean }[]; scope?: string } }).spec;
  const version = spec?.versions?.find((v) => v.storage)?.name ?? spec?.versions?.[0]?.name;
  if (!spec?.group || !spec.names?.plural || !version) return [];
  const list = await withApiRetry(() => target.rest.get<Listed>(`/apis/${spec.group}/${version}/${spec.names!.plural}`, { query: { labelSelector: notOurs, limit: EXAMPLES } }))
    .catch((err: unknown) => (apiStatus(err) === 404 ? { items: [] } : Promise.reject(err)));
  return (list.items ?? []).map((o) => describe({ ...o, kind: spec.names?.kind ?? o.kind }));
}

export type DeleteOutcome = { outcome: 'deleted' } | { outcome: 'replaced' } | { outcome: 'stuck'; finalizers: string[] };

/**
 * Deletes the object that was listed, and only that one: an object of the same name made meanwhile by
 * someone else (another uid) is left alone. An object that stays because of finalizers no control-plane
 * component handles is reported once it has waited STUCK_AFTER_MS.
 */
export async function deleteExactly(target: Cluster, type: TypeEntry, o: RawObject, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<DeleteOutcome> {
  const path = resourcePath(type, o.metadata?.namespace, o.metadata!.name);
  let answer: RawObject | undefined;
  try {
    answer = await withApiRetry(() => target.rest.request<RawObject>('DELETE', path, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', preconditions: { uid: o.metadata!.uid } },
    }));
  } catch (err) {
    if (apiStatus(err) === 404) return { outcome: 'deleted' };
    if (apiStatus(err) === 409) return { outcome: 'replaced' };
    throw err;
  }
  const waiting = (x: RawObject | undefined) => (x?.metadata?.finalizers ?? []).filter((f) => !CONTROL_PLANE_FINALIZERS.has(f));
  if (!waiting(answer).length) return { outcome: 'deleted' };
  for (let waited = 0; waited < STUCK_AFTER_MS; waited += 1000) {
    await sleep(1000);
    const now = await target.rest.get<RawObject>(path).catch((err: unknown) => (apiStatus(err) === 404 ? undefined : Promise.reject(err)));
    if (!now || now.metadata?.uid !== o.metadata?.uid || !waiting(now).length) return { outcome: 'deleted' };
    answer = now;
  }
  return { outcome: 'stuck', finalizers: waiting(answer) };
}
