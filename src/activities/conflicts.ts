// Objects that already exist in the target. The request's `existingObjects` policy decides:
//   skip   (default) leave them as they are, and report those that differ from the backup;
//   update apply the backup's version over them (server-side apply, field manager "kubeferry");
//   fail   refuse the restore before anything is written if any exists.
// "Differs" is decided by the target API server itself, with a server-side-apply dry run, so fields it
// defaults or allocates do not count as differences.
import { isDeepStrictEqual } from 'node:util';
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import type { Cluster } from './clusters.js';
import { MIGRATION_ID_LABEL } from './labels.js';

export const FIELD_MANAGER = 'kubeferry';

/** Applies `desired` over what exists (the "update" policy). */
export async function applyOver(target: Cluster, desired: KubernetesObject): Promise<void> {
  await target.objects.patch(desired, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

const comparable = (o: KubernetesObject & Record<string, unknown>) => {
  const { metadata, status: _status, ...rest } = o;
  const labels = { ...metadata?.labels };
  delete labels[MIGRATION_ID_LABEL];
  return { ...rest, labels, annotations: metadata?.annotations ?? {} };
};

/** The identifying part of an object, as the generic client reads it back. */
export function headerOf(o: KubernetesObject) {
  return { apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } };
}

/** Whether applying `desired` would change the object in the target, ignoring kubeferry's own label. */
export async function differsInTarget(target: Cluster, desired: KubernetesObject): Promise<boolean> {
  const withoutOurLabel = structuredClone(desired);
  if (withoutOurLabel.metadata?.labels) delete withoutOurLabel.metadata.labels[MIGRATION_ID_LABEL];
  const existing = await target.objects.read(headerOf(desired));
  const applied = await target.objects.patch(withoutOurLabel, undefined, 'All', FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  return !isDeepStrictEqual(comparable(existing as never), comparable(applied as never));
}
