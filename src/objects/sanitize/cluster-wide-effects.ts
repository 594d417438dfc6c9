import type { SanitizeRule } from './rule.js';

const DEFAULT_CLASS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class', 'ingressclass.kubernetes.io/is-default-class'];
const AGGREGATES = /^rbac\.authorization\.k8s\.io\/aggregate-to-/;

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/**
 * A migration of namespaces must not change how the rest of the target cluster behaves, so the
 * cluster-scoped objects it brings lose what acts beyond them: a StorageClass or IngressClass is never
 * made the target's default (a second default makes the newest win for every new claim or Ingress), a
 * PriorityClass never the global default, a ClusterRole never aggregated into the built-in admin, edit
 * or view roles (which would widen them for every user), and a ClusterRoleBinding keeps only the
 * ServiceAccounts of the migrated namespaces among its subjects: users and groups are names of the
 * source's authenticator, and in the target may be other people.
 */
export const clusterWideEffects: SanitizeRule = (obj, ctx) => {
  const metadata = obj.metadata;
  if ((obj.kind === 'StorageClass' || obj.kind === 'IngressClass') && metadata?.annotations) {
    for (const key of DEFAULT_CLASS) delete metadata.annotations[key];
  }
  if (obj.kind === 'PriorityClass') delete (obj as { globalDefault?: boolean }).globalDefault;
  if (obj.kind === 'ClusterRole' && metadata?.labels) {
    for (const key of Object.keys(metadata.labels)) if (AGGREGATES.test(key)) delete metadata.labels[key];
  }
  if (obj.kind === 'ClusterRoleBinding') {
    const binding = obj as { subjects?: Subject[] };
    binding.subjects = (binding.subjects ?? []).filter((s) =>
      s.kind === 'ServiceAccount' && (!ctx.sourceNamespaces || (s.namespace !== undefined && ctx.sourceNamespaces.has(s.namespace))));
  }
};
