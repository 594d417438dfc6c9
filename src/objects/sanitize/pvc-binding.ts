import type { SanitizeRule } from './rule.js';

/** Annotations the PV controller and the scheduler set when they bind a claim; each names source state. */
export const PVC_BINDING_ANNOTATIONS = [
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
] as const;

/**
 * A bound PersistentVolumeClaim names its source volume in `spec.volumeName` and records the binding in
 * annotations. In the target that volume does not exist (a claim marked bind-completed to a missing
 * volume is declared Lost) and the selected node may not either; without them the claim is bound or
 * provisioned afresh by the target. The claim's status goes with status.ts.
 */
export const pvcBinding: SanitizeRule = (obj) => {
  if (obj.kind !== 'PersistentVolumeClaim') return;
  const spec = obj.spec as { volumeName?: string } | undefined;
  if (spec) delete spec.volumeName;
  const annotations = obj.metadata?.annotations;
  if (!annotations) return;
  for (const a of PVC_BINDING_ANNOTATIONS) delete annotations[a];
  if (Object.keys(annotations).length === 0) delete obj.metadata!.annotations;
};
