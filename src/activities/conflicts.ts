// Objects that already exist in the target. The request's `existingObjects` policy decides:
//   skip   (default) leave them as they are, and report those that differ from the backup;
//   update apply the backup's version over them (server-side apply, field manager "kubeferry");
//   fail   refuse the restore before anything is written if any exists.
// "Differs" is decided by the target API server itself, with a server-side-apply dry run, so fields it
// defaults or allocates do not count as differences.
import { isDeepStrictEqual } from 'node:util';
import type { RawObject, TypeEntry } from '../store/backup-format.js';
import type { Cluster } from '../kube/clusters.js';
import { resourcePath } from '../kube/rest.js';
import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION } from '../objects/labels.js';

export const FIELD_MANAGER = 'kubeferry';

type TypePath = Pick<TypeEntry, 'group' | 'version' | 'resource' | 'namespaced'>;

function apply(target: Cluster, type: TypePath, desired: RawObject, dryRun: boolean): Promise<RawObject> {
  return target.rest.request<RawObject>('PATCH', resourcePath(type, desired.metadata?.namespace, desired.metadata!.name), {
    body: desired,
    // Server-side apply takes YAML, and JSON is YAML.
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: true, ...(dryRun ? { dryRun: 'All' } : {}) },
  });
}

/** Applies `desired` over what exists (the "update" policy). */
export async function applyOver(target: Cluster, type: TypePath, desired: RawObject): Promise<void> {
  await apply(target, type, desired, false);
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
