// Objects of copied types that must still not be copied, each rule with the reason the report shows.
// (Whole types that are never copied, such as events and leases, are in domain/resource-filter.ts.)
import type { RawObject } from './raw-object.js';
import { GRANT_LABEL } from '../domain/request-rbac.js';

/** What each built-in controller creates from its spec: the target's controller recreates these from the copied parent. */
const CONTROLLER_CHILDREN: Record<string, readonly string[]> = {
  Deployment: ['ReplicaSet'],
  ReplicaSet: ['Pod'],
  StatefulSet: ['Pod', 'ControllerRevision'],
  DaemonSet: ['Pod', 'ControllerRevision'],
  Job: ['Pod'],
  CronJob: ['Job'],
};

/**
 * When a kind can be collected: after every kind whose controller makes it (0 for kinds no built-in
 * controller makes), so that its owners' uids are known when its objects are judged.
 */
export function collectionStage(kind: string): number {
  const parents = Object.entries(CONTROLLER_CHILDREN).filter(([, children]) => children.includes(kind)).map(([parent]) => parent);
  return parents.length ? 1 + Math.max(...parents.map(collectionStage)) : 0;
}

/** EndpointSlices the control plane writes (kube-controller-manager's two slice controllers). */
const DERIVED_SLICES: ReadonlySet<string> = new Set(['endpointslice-controller.k8s.io', 'endpointslicemirroring-controller.k8s.io']);

export interface LeaveOutContext {
  /** Uids of source objects that are copied, or left out because their own controller is. */
  covered: ReadonlySet<string>;
}

type Rule = (o: RawObject & { type?: unknown; status?: { phase?: unknown } }, ctx: LeaveOutContext) => string | undefined;

const RULES: Rule[] = [
  (o) => (o.metadata?.deletionTimestamp ? 'being deleted in the source' : undefined),
  (o) => (o.kind === 'ServiceAccount' && o.metadata?.name === 'default' ? 'default ServiceAccount (every namespace gets its own)' : undefined),
  (o) => (o.kind === 'ConfigMap' && o.metadata?.name === 'kube-root-ca.crt' ? 'kube-root-ca.crt (published by the target cluster itself)' : undefined),
  (o) => (o.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token' ? 'service-account token Secret (issued by the target)' : undefined),
  (o) => (o.kind === 'Secret' && o.type === 'bootstrap.kubernetes.io/token' ? 'bootstrap token Secret (a join credential of the source cluster)' : undefined),
  // A token Secret of any type that names its ServiceAccount: the target's token controller would fill it for the target.
  (o) => (o.kind === 'Secret' && o.metadata?.annotations?.['kubernetes.io/service-account.name'] ? 'service-account token Secret (issued by the target)' : undefined),
  (o, ctx) => {
    // Only what the controller itself makes: a ConfigMap an operator hung under a Deployment is still copied.
    const owner = o.metadata?.ownerReferences?.find((r) => r.controller && CONTROLLER_CHILDREN[r.kind]?.includes(o.kind ?? ''));
    return owner && ctx.covered.has(owner.uid) ? `owned by a copied ${owner.kind} (its controller recreates it in the target)` : undefined;
  },
  (o) => (o.kind === 'Pod' && (o.status?.phase === 'Succeeded' || o.status?.phase === 'Failed') ? 'completed Pod' : undefined),
  (o) => (o.kind === 'Pod' && o.metadata?.annotations?.['kubernetes.io/config.mirror'] ? 'mirror Pod of a static pod on a source node' : undefined),
  (o) => {
    if (o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding' && o.kind !== 'Role' && o.kind !== 'RoleBinding') return undefined;
    const bootstrap = o.metadata?.name?.startsWith('system:') || o.metadata?.labels?.['kubernetes.io/bootstrapping'] === 'rbac-defaults';
    return bootstrap ? 'bootstrap RBAC of the API server (the target has its own)' : undefined;
  },
  (o) => ((o.kind === 'Role' || o.kind === 'RoleBinding') && o.metadata?.labels?.[GRANT_LABEL]
    ? "kubeferry's own access in the source (kubeferry rbac), not the application's" : undefined),
  // A Service's endpoints come with it only when no controller maintains them (a Service without a
  // selector, whose Endpoints or EndpointSlices someone writes by hand): the target's controllers derive
  // the others from its own Services and pods, and mirror copied Endpoints into EndpointSlices.
  (o) => (o.kind === 'Endpoints' && (o.metadata?.labels?.['endpoints.kubernetes.io/managed-by'] || o.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'])
    ? "Endpoints maintained by the endpoints controller from the Service's selector (the target's derives its own)" : undefined),
  (o) => (o.kind === 'EndpointSlice' && DERIVED_SLICES.has(o.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'] ?? '')
    ? "EndpointSlice maintained by the target's controllers (derived from a Service's selector, or mirrored from Endpoints)" : undefined),
  (o) => (o.kind === 'PriorityClass' && o.metadata?.name?.startsWith('system-') ? 'built-in PriorityClass (the target has its own)' : undefined),
];

/** Why an object of a copied type is deliberately not copied, or undefined to copy it. */
export function leaveOutReason(o: RawObject, ctx: LeaveOutContext = { covered: new Set() }): string | undefined {
  for (const rule of RULES) {
    const reason = rule(o as never, ctx);
    if (reason) return reason;
  }
  return undefined;
}

/** Objects left out for one reason: how many, and the first few by name. */
export interface LeftOutGroup {
  reason: string;
  count: number;
  /** The first few, as "Kind namespace/name". */
  examples: string[];
}

/** Groups of several types (or parts) merged by reason, most objects first, with the first few examples kept. */
export function mergeLeftOut(groups: readonly LeftOutGroup[], examples = 5): LeftOutGroup[] {
  const byReason = new Map<string, LeftOutGroup>();
  for (const g of groups) {
    const m = byReason.get(g.reason) ?? { reason: g.reason, count: 0, examples: [] };
    m.count += g.count;
    m.examples = [...m.examples, ...g.examples].slice(0, examples);
    byReason.set(g.reason, m);
  }
  return [...byReason.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}
