// The built-in part of the restore order: which kinds go before which when no reference says more
// (dependency-graph.ts refines it with the references found in the objects).

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
  Pod: 60,
  ReplicaSet: 60,
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

/** Group-qualified kind keys (`HTTPRoute.gateway.networking.k8s.io`) of kinds this table ranks. */
const QUALIFIED_RANK: Readonly<Record<string, number>> = {
  'HTTPRoute.gateway.networking.k8s.io': 90,
  'GRPCRoute.gateway.networking.k8s.io': 90,
  'TLSRoute.gateway.networking.k8s.io': 90,
  'TCPRoute.gateway.networking.k8s.io': 90,
  'UDPRoute.gateway.networking.k8s.io': 90,
};

export function kindRank(kind: string): number {
  return KIND_RANK[kind] ?? QUALIFIED_RANK[kind] ?? DEFAULT_RANK;
}

export interface KindCount {
  kind: string;
  count: number;
}

/** One wave of a restore plan, as the workflow sees it: counts, not objects. */
export interface Wave {
  index: number;
  kinds: string[];
  count: number;
}
