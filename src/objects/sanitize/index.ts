// Sanitizing: what must change in an object read from the source before it is created in the target.
// One small rule per concern, each in its own file, applied in order; see each rule for why:
//   serverSetMetadata       identity, versions, timestamps and field ownership of the source server
//   dropStatus              observed state of the source
//   serviceAddresses        Service cluster IPs, node ports and health-check node port
//   deploymentRevision      a Deployment's rollout revision counter
//   podNodeName             the source node a bare Pod was bound to
//   jobControllerUid        a Job's generated selector and controller-uid labels
//   serviceAccountTokenRefs a ServiceAccount's references to its auto-generated token Secrets
//   pvcBinding              a PersistentVolumeClaim's binding to a source PersistentVolume
//   clusterWideEffects      default classes, global-default priority, role aggregation, foreign binding subjects
//   namespaceMapping        the object's namespace and the namespaced references it holds
//   ownerReferences         owner uids rewritten to the target's owners, or the references dropped
//   migrationLabel          the migration id label on every restored object (kubeferry.io/* from the source dropped)
import { serverSetMetadata } from './server-set-metadata.js';
import { dropStatus } from './status.js';
import { serviceAddresses } from './service-addresses.js';
import { deploymentRevision } from './deployment-revision.js';
import { podNodeName } from './pod-node-name.js';
import { jobControllerUid } from './job-controller-uid.js';
import { serviceAccountTokenRefs } from './serviceaccount-token-refs.js';
import { pvcBinding } from './pvc-binding.js';
import { clusterWideEffects } from './cluster-wide-effects.js';
import { namespaceMapping } from './namespace-mapping.js';
import { ownerReferences } from './owner-references.js';
import { migrationLabel } from './migration-label.js';
import type { RawObject } from '../raw-object.js';
import type { SanitizeContext, SanitizeRule } from './rule.js';

export type { OwnerKey } from '../raw-object.js';
export type { SanitizeContext, SanitizeRule } from './rule.js';

export { MIGRATION_ID_LABEL } from '../labels.js';

export const RULES: readonly SanitizeRule[] = [
  serverSetMetadata,
  dropStatus,
  serviceAddresses,
  deploymentRevision,
  podNodeName,
  jobControllerUid,
  serviceAccountTokenRefs,
  pvcBinding,
  clusterWideEffects,
  namespaceMapping,
  ownerReferences,
  migrationLabel,
];

/** A copy of the object, rewritten by every rule in order, as it should land in the target. */
export function sanitize<T extends object>(obj: T, ctx: SanitizeContext): T {
  const copy = structuredClone(obj);
  for (const rule of RULES) rule(copy as RawObject, ctx);
  return copy;
}
