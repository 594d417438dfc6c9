// Objects that already exist in the target. The request's `existingObjects` policy decides:
//   skip   (default) leave them as they are, and report those that differ from the backup;
//   update apply the backup's version over them (server-side apply, field manager "kubeferry"), without
//          taking fields other managers own unless forceConflicts, and never spec.replicas of a workload
//          a HorizontalPodAutoscaler scales;
//   fail   refuse the restore before anything is written if any exists.
// "Differs" is decided by the target API server itself, with a server-side-apply dry run, so fields it
// defaults or allocates do not count as differences.
import { isDeepStrictEqual } from 'node:util';
import type { RawObject, TypeEntry } from '../store/backup-format.js';
import type { Cluster } from '../kube/clusters.js';
import { resourcePath } from '../kube/rest.js';
import { apiMessage, apiStatus } from '../kube/errors.js';
import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION } from '../objects/labels.js';

export const FIELD_MANAGER = 'kubeferry';

type TypePath = Pick<TypeEntry, 'group' | 'version' | 'resource' | 'namespaced'>;

function apply(target: Cluster, type: TypePath, desired: RawObject, dryRun: boolean, force = true): Promise<RawObject> {
  return target.rest.request<RawObject>('PATCH', resourcePath(type, desired.metadata?.namespace, desired.metadata!.name), {
    body: desired,
    // Server-side apply takes YAML, and JSON is YAML.
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force, ...(dryRun ? { dryRun: 'All' } : {}) },
  });
}

/** A field another manager owns: the API server's 409 for an apply without force, in words to act on. */
export class ApplyConflictError extends Error {
  override name = 'ApplyConflictError';
}

/**
 * Applies `desired` over what exists (the "update" policy). Without `force`, fields that another manager
 * owns (a GitOps controller, an operator) are a conflict, reported with the API server's list of them.
 */
export async function applyOver(target: Cluster, type: TypePath, desired: RawObject, force: boolean): Promise<void> {
  // kubeferry's own labels and annotations are its bookkeeping, whoever last wrote them (an earlier
  // migration's create, say): taken first on their own, so they never count as someone else's field.
  await apply(target, type, ownMetadata(desired), false, true);
  try {
    await apply(target, type, desired, false, force);
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
    throw new ApplyConflictError(`${apiMessage(err)}; left as it is. Set forceConflicts: true to take these fields over`);
  }
}

/**
 * Puts an object back as it was before an update overwrote it: applied with force as kubeferry, so the
 * fields the update added (owned by kubeferry alone, and absent from the copy) go, and its values return.
 */
export async function putBack(target: Cluster, type: TypePath, original: RawObject): Promise<void> {
  await apply(target, type, original, false, true);
}

const OURS = /^kubeferry\.io\//;

/** Only what identifies the object, and kubeferry's own labels and annotations on it. */
function ownMetadata(o: RawObject): RawObject {
  const only = (r: Record<string, string> | undefined) => Object.fromEntries(Object.entries(r ?? {}).filter(([k]) => OURS.test(k)));
  const m = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion, kind: o.kind,
    metadata: { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), labels: only(m.labels), annotations: only(m.annotations) },
  };
}

const SCALED_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);

/**
 * The workloads a HorizontalPodAutoscaler scales, per namespace of the target (looked up once each): an
 * update leaves their spec.replicas to it instead of fighting it over the count.
 */
export class AutoscaledWorkloads {
  private readonly byNamespace = new Map<string, Promise<Set<string>>>();

  constructor(private readonly target: Cluster) {}

  async has(o: RawObject): Promise<boolean> {
    const ns = o.metadata?.namespace;
    if (!ns || !SCALED_KINDS.has(o.kind ?? '')) return false;
    if (!this.byNamespace.has(ns)) {
      this.byNamespace.set(ns, this.target.rest.get<{ items?: { spec?: { scaleTargetRef?: { kind?: string; name?: string } } }[] }>(
        `/apis/autoscaling/v2/namespaces/${encodeURIComponent(ns)}/horizontalpodautoscalers`,
      ).then((l) => new Set((l.items ?? []).map((h) => `${h.spec?.scaleTargetRef?.kind}/${h.spec?.scaleTargetRef?.name}`)),
        (err: unknown) => (apiStatus(err) === 404 || apiStatus(err) === 403 ? new Set<string>() : Promise.reject(err))));
    }
    return (await this.byNamespace.get(ns)!).has(`${o.kind}/${o.metadata?.name}`);
  }
}

/** `desired` without spec.replicas: what an update applies to a workload an autoscaler scales. */
export function withoutReplicas(desired: RawObject): RawObject {
  const copy = structuredClone(desired);
  const spec = copy.spec as { replicas?: number } | undefined;
  if (spec) delete spec.replicas;
  return copy;
}

const comparable = (o: RawObject) => {
  const { metadata, status: _status, ...rest } = o;
  const labels = { ...metadata?.labels };
  delete labels[MIGRATION_ID_LABEL];
  return { ...rest, labels, annotations: metadata?.annotations ?? {} };
};

/** Whether applying `desired` would change `existing` in the target, ignoring kubeferry's own label. */
export async function differsInTarget(target: Cluster, type: TypePath, desired: RawObject, existing: RawObject): Promise<boolean> {
  const withoutOurLabel = structuredClone(desired);
  if (withoutOurLabel.metadata?.labels) delete withoutOurLabel.metadata.labels[MIGRATION_ID_LABEL];
  if (withoutOurLabel.metadata?.annotations) delete withoutOurLabel.metadata.annotations[MIGRATION_RUN_ANNOTATION];
  const applied = await apply(target, type, withoutOurLabel, true);
  return !isDeepStrictEqual(comparable(existing), comparable(applied));
}
