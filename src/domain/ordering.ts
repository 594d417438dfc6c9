// Restore order: which kinds must exist before which. Objects of one wave do not depend on each other
// and are created in parallel; a wave starts only when the previous one is done.

/**
 * Built-in rank of a kind (lower is earlier). Namespaces hold everything; identities and configuration
 * must exist before the pods that mount or run as them; Services come after workloads so that traffic
 * routed to them finds endpoints as early as possible.
 */
const KIND_RANK: Readonly<Record<string, number>> = {
  CustomResourceDefinition: 0,
  Namespace: 10,
  StorageClass: 20,
  PriorityClass: 20,
  ClusterRole: 30,
  Role: 30,
  ServiceAccount: 30,
  ClusterRoleBinding: 35,
  RoleBinding: 35,
  Secret: 40,
  ConfigMap: 40,
  LimitRange: 40,
  ResourceQuota: 40,
  PersistentVolumeClaim: 50,
  Deployment: 60,
  StatefulSet: 60,
  DaemonSet: 60,
  Job: 60,
  CronJob: 60,
  Service: 70,
  HorizontalPodAutoscaler: 80,
  PodDisruptionBudget: 80,
  Ingress: 90,
  HTTPRoute: 90,
  MutatingWebhookConfiguration: 100,
  ValidatingWebhookConfiguration: 100,
};
/** Kinds without a rank (custom resources, say) go after workloads and before routes. */
const DEFAULT_RANK = 75;

export function kindRank(kind: string): number {
  return KIND_RANK[kind] ?? DEFAULT_RANK;
}

export interface KindCount {
  kind: string;
  count: number;
}

export interface Wave {
  index: number;
  kinds: string[];
  count: number;
}

/** Groups kinds into waves by rank, in restore order; empty kinds are left out. */
export function planWaves(kinds: readonly KindCount[]): Wave[] {
  const byRank = new Map<number, KindCount[]>();
  for (const k of kinds) {
    if (k.count <= 0) continue;
    const rank = kindRank(k.kind);
    byRank.set(rank, [...(byRank.get(rank) ?? []), k]);
  }
  return [...byRank.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, group], index) => ({
      index,
      kinds: group.map((g) => g.kind).sort(),
      count: group.reduce((sum, g) => sum + g.count, 0),
    }));
}
