import { mapNamespace } from '../../domain/namespace-mapping.js';
import type { SanitizeRule } from './rule.js';

interface Subject { kind?: string; namespace?: string }
interface BackendRef { namespace?: string }

/**
 * Namespace mapping: the object moves to its mapped namespace (a Namespace is renamed), and so do the
 * references that carry a namespace: RoleBinding and ClusterRoleBinding subjects, and the backendRefs of
 * Gateway API routes. (Crane does not rewrite subjects, so mapped RoleBindings there grant nothing.)
 */
export const namespaceMapping: SanitizeRule = (obj, ctx) => {
  const mapping = ctx.namespaceMapping;
  if (!mapping || Object.keys(mapping).length === 0) return;
  const m = obj.metadata;
  if (m?.namespace) m.namespace = mapNamespace(mapping, m.namespace);
  if (obj.kind === 'Namespace' && m?.name) m.name = mapNamespace(mapping, m.name);
  if (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') {
    for (const s of (obj.subjects as Subject[] | undefined) ?? []) {
      if (s.namespace) s.namespace = mapNamespace(mapping, s.namespace);
    }
  }
  if (obj.kind === 'HTTPRoute' || obj.kind === 'GRPCRoute') {
    const rules = ((obj.spec as { rules?: { backendRefs?: BackendRef[] }[] } | undefined)?.rules) ?? [];
    for (const ref of rules.flatMap((r) => r.backendRefs ?? [])) {
      if (ref.namespace) ref.namespace = mapNamespace(mapping, ref.namespace);
    }
  }
};
