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
//   namespaceMapping        the object's namespace and the namespaced references it holds
//   ownerReferences         owner uids rewritten to the target's owners, or the references dropped
//   migrationLabel          the migration id label on every restored object
import type { KubernetesObject } from '@kubernetes/client-node';
import { serverSetMetadata } from './server-set-metadata.js';
import { dropStatus } from './status.js';
import { serviceAddresses } from './service-addresses.js';
import { deploymentRevision } from './deployment-revision.js';
import { podNodeName } from './pod-node-name.js';
import { jobControllerUid } from './job-controller-uid.js';
import { serviceAccountTokenRefs } from './serviceaccount-token-refs.js';
import { pvcBinding } from './pvc-binding.js';
import { namespaceMapping } from './namespace-mapping.js';
import { ownerReferences } from './owner-references.js';
import { migrationLabel } from './migration-label.js';
import type { NamespaceMapping } from '../../domain/namespace-mapping.js';

export { MIGRATION_ID_LABEL } from '../labels.js';

/** An owner as an owner reference names it; `namespace` is the dependent's (already mapped) namespace. */
export interface OwnerKey {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface SanitizeContext {
  migrationId: string;
  /** The migration's run (workflow run id), recorded on each object it creates. */
  runId?: string;
  /** Source namespace -> target namespace. */
  namespaceMapping?: NamespaceMapping;
  /** Keep Service node ports (and the health-check node port) instead of letting the target allocate them. */
  keepNodePorts?: boolean;
  /**
   * The uid of an owner in the target, or undefined when it is not there. Synchronous: the caller resolves
   * the owners beforehand. Without it, every owner reference is dropped.
   */
  ownerUid?: (owner: OwnerKey) => string | undefined;
}

/** A rule rewrites one object in place; it returns nothing and ignores kinds it is not about. */
export type SanitizeRule = (obj: KubernetesObject & Record<string, unknown>, ctx: SanitizeContext) => void;

export const RULES: readonly SanitizeRule[] = [
  serverSetMetadata,
  dropStatus,
  serviceAddresses,
  deploymentRevision,
  podNodeName,
  jobControllerUid,
  serviceAccountTokenRefs,
  pvcBinding,
  namespaceMapping,
  ownerReferences,
  migrationLabel,
];

export function sanitize<T extends KubernetesObject>(obj: T, ctx: SanitizeContext): T {
  const copy = structuredClone(obj) as T & Record<string, unknown>;
  for (const rule of RULES) rule(copy, ctx);
  return copy;
}
