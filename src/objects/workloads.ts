// Which objects are workloads (their readiness counts toward the grayscale ratio), and how a route's
// workload names ("namespace/name" or "kind/namespace/name") find them among a backup's workloads.
import type { RawObject } from './raw-object.js';

/** A workload as a backup records it. */
export interface WorkloadEntry {
  /** Plan id, "Kind/namespace/name". */
  id: string;
  /** The type's kubectl name ("deployments.apps"). */
  type: string;
  namespace: string;
  name: string;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** Built-in workloads, and custom resources that report a Ready condition (their readiness counts too). */
export function isWorkload(o: RawObject, type: { group: string; crd?: string }): boolean {
  if (WORKLOAD_KINDS.has(o.kind ?? '') && ['apps', 'batch'].includes(type.group)) return true;
  const conditions = (o.status as { conditions?: { type?: string }[] } | undefined)?.conditions;
  return type.crd !== undefined && Array.isArray(conditions) && conditions.some((c) => c?.type === 'Ready');
}

/**
 * The workload a route names: "namespace/name", or "kind/namespace/name" when a namespace has two
 * workloads of that name (kind as kubectl takes it: "Deployment", "deployment", "deployments",
 * "deployments.apps"). Undefined when none or several match.
 */
export function findWorkload(workloads: readonly WorkloadEntry[], ref: string): WorkloadEntry | undefined {
  const parts = ref.split('/');
  const [kind, namespace, name] = parts.length === 3 ? parts : [undefined, ...parts];
  const found = workloads.filter((w) => w.namespace === namespace && w.name === name && (!kind || kindMatches(w, kind)));
  return found.length === 1 ? found[0] : undefined;
}

function kindMatches(w: WorkloadEntry, kind: string): boolean {
  const k = kind.toLowerCase();
  const idKind = w.id.slice(0, w.id.indexOf('/')).toLowerCase();
  return idKind === k || idKind.split('.')[0] === k || w.type === k || w.type.split('.')[0] === k || w.type.split('.')[0] === `${k}s`;
}

/** Each route's workloads, and the references ("route \"web\": ns/name") that match none or several. */
export function resolveRouteWorkloads(
  workloads: readonly WorkloadEntry[], routes: readonly { name: string; workloads: readonly string[] }[],
): { byRoute: Map<string, WorkloadEntry[]>; unknown: string[] } {
  const byRoute = new Map<string, WorkloadEntry[]>();
  const unknown: string[] = [];
  for (const route of routes) {
    byRoute.set(route.name, route.workloads.flatMap((ref) => {
      const w = findWorkload(workloads, ref);
      if (!w) unknown.push(`route "${route.name}": ${ref}`);
      return w ? [w] : [];
    }));
  }
  return { byRoute, unknown };
}
