// Readiness: how many restored workloads are ready in the target, overall and per route. A workload is
// ready for traffic when its Deployment is, and every Service that selects its pods has a ready endpoint
// in the target: a Deployment can be Available a moment before its endpoints are published, and an
// ingress in front of a Service without endpoints answers 503.
import type { V1Deployment } from '@kubernetes/client-node';
import { mapRef } from '../domain/namespace-mapping.js';
import type { ReadinessCount } from '../domain/progress.js';
import type { ReadinessInput, ReadinessReport } from './contract.js';
import { readManifest } from './backup.js';
import { apiStatus, type Cluster, type ClusterRegistry } from './clusters.js';
import type { ObjectStore } from './object-store.js';

/** A Deployment is ready when its controller saw the latest spec and every replica is updated and available. */
export function deploymentReady(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 1)) return false;
  return (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want;
}

async function deploymentIsReady(target: Cluster, ref: string): Promise<boolean> {
  const [namespace, name] = ref.split('/') as [string, string];
  try {
    return deploymentReady(await target.apps.readNamespacedDeployment({ namespace, name }));
  } catch (err) {
    if (apiStatus(err) === 404) return false;
    throw err;
  }
}

async function serviceHasEndpoints(target: Cluster, ref: string): Promise<boolean> {
  const [namespace, name] = ref.split('/') as [string, string];
  const slices = await target.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` });
  return slices.items.some((s) => (s.endpoints ?? []).some((e) => e.conditions?.ready !== false));
}

export async function checkReadiness(clusters: ClusterRegistry, store: ObjectStore, input: ReadinessInput): Promise<ReadinessReport> {
  const manifest = await readManifest(store, input);
  const target = clusters.get(input.target);
  const wanted = new Set([...manifest.workloads, ...input.routes.flatMap((r) => r.workloads)]);
  const ready = new Map<string, boolean>();
  const inTarget = (ref: string) => mapRef(input.namespaceMapping, ref);
  await Promise.all(
    [...wanted].map(async (ref) => {
      const services = manifest.workloadServices?.[ref] ?? [];
      const checks = await Promise.all([
        deploymentIsReady(target, inTarget(ref)),
        ...services.map((s) => serviceHasEndpoints(target, inTarget(s))),
      ]);
      ready.set(ref, checks.every(Boolean));
    }),
  );
  const count = (refs: string[]): ReadinessCount => ({ ready: refs.filter((r) => ready.get(r)).length, total: refs.length });
  return {
    overall: count(manifest.workloads),
    routes: Object.fromEntries(input.routes.map((r) => [r.name, count(r.workloads)])),
    notReady: [...wanted].filter((r) => !ready.get(r)).sort().slice(0, 10),
  };
}
