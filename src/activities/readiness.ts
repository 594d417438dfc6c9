// Readiness: how many restored workloads are ready in the target, overall and per route. A workload is
// ready for traffic when its controller says so (Deployments, StatefulSets, DaemonSets, Jobs, custom
// resources with a Ready condition) and every Service that selects its pods has a ready endpoint in the
// target: a Deployment can be Available a moment before its endpoints are published, and an ingress in
// front of a Service without endpoints answers 503.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { goalReached } from '../domain/readiness-goal.js';
import { mapNamespace } from '../domain/namespace-mapping.js';
import type { ReadinessCount } from '../domain/progress.js';
import type { AwaitReadinessInput, ReadinessInput, ReadinessReport } from './contract.js';
import type { BackupManifest, RawObject, WorkloadEntry } from '../store/backup-format.js';
import type { Cluster, ClusterRegistry } from '../kube/clusters.js';
import { listPages, resourcePath } from '../kube/rest.js';
import { forEachConcurrently } from '../concurrency.js';
import { replicaCounts, workloadReady, type Workload } from '../objects/workload-readiness.js';
import { resolveRouteWorkloads } from '../objects/workloads.js';
import { diagnoseNotReady, type Suspect } from './readiness-diagnosis.js';
import type { NotReadyCause } from '../domain/readiness-causes.js';
import type { ObjectStore } from '../store/object-store.js';
import { apiStatus } from '../kube/errors.js';
import { readManifest } from '../store/backup-store.js';
import type { BackupKeyring } from '../store/archive-crypto.js';
import { FAILURE } from '../domain/failures.js';

/** How often a wait for readiness looks again at why workloads are not ready. */
const DIAGNOSE_EVERY_MS = 5_000;

/**
 * The target's objects of each (type, namespace) the workloads live in, by name: one paged list per
 * collection instead of one read per workload, so a poll over thousands of workloads is a few requests.
 */
async function readWorkloads(target: Cluster, collections: Map<string, { path: string; kind: string }>): Promise<Map<string, Map<string, Workload>>> {
  const found = new Map<string, Map<string, Workload>>();
  await forEachConcurrently([...collections], async ([key, { path, kind }]) => {
    const byName = new Map<string, Workload>();
    try {
      // Items of a list carry no kind; the readiness rules go by it.
      for await (const page of listPages<Workload>(target.rest, path)) for (const w of page) byName.set(w.metadata!.name!, { ...w, kind });
    } catch (err) {
      // A type the target does not serve (yet): none of its workloads is there.
      if (apiStatus(err) !== 404) throw err;
    }
    found.set(key, byName);
  }, target.concurrency);
  return found;
}

/** Names of the Services in each namespace that have a ready endpoint: one list of EndpointSlices per namespace. */
async function servicesWithEndpoints(target: Cluster, namespaces: readonly string[]): Promise<Set<string>> {
  const ready = new Set<string>();
  type Slice = RawObject & { endpoints?: { conditions?: { ready?: boolean } }[] };
  await forEachConcurrently(namespaces, async (namespace) => {
    for await (const page of listPages<Slice>(target.rest, `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`)) {
      for (const s of page) {
        const service = s.metadata?.labels?.['kubernetes.io/service-name'];
        if (service && (s.endpoints ?? []).some((e) => e.conditions?.ready !== false)) ready.add(`${namespace}/${service}`);
      }
    }
  }, target.concurrency);
  return ready;
}

/** Each route's workloads in the backup; a non-retryable failure naming those the backup does not hold. */
export function routeWorkloadsOf(manifest: BackupManifest, routes: ReadinessInput['routes']): Map<string, WorkloadEntry[]> {
  const { byRoute, unknown } = resolveRouteWorkloads(manifest.workloads, routes);
  if (unknown.length) {
    throw ApplicationFailure.nonRetryable(
      `routes name workloads that backup "${manifest.backupId}" does not hold (or holds twice under that name; write "kind/namespace/name"): ` +
        `${unknown.join(', ')}. Its workloads: ${manifest.workloads.slice(0, 20).map((w) => `${w.namespace}/${w.name}`).join(', ') || '(none)'}`,
      FAILURE.InvalidRequest,
    );
  }
  return byRoute;
}

export async function checkReadiness(
  clusters: ClusterRegistry, store: ObjectStore, keys: BackupKeyring | undefined, input: ReadinessInput, options: { diagnose?: boolean } = {},
): Promise<ReadinessReport> {
  const manifest = await readManifest(store, input.storage, input.backupId, keys);
  const target = clusters.get(input.target);
  const types = new Map(manifest.types.map((t) => [t.name, t]));
  const routeWorkloads = routeWorkloadsOf(manifest, input.routes);
  const ready = new Map<string, boolean>();
  const replicas = new Map<string, { ready: number; total: number }>();
  const collectionOf = (w: WorkloadEntry) => `${w.type}|${mapNamespace(input.namespaceMapping, w.namespace)}`;
  const collections = new Map<string, { path: string; kind: string }>();
  for (const w of manifest.workloads) {
    const type = types.get(w.type);
    if (type) collections.set(collectionOf(w), { path: resourcePath(type, mapNamespace(input.namespaceMapping, w.namespace)), kind: type.kind });
  }
  const serviceNamespaces = [...new Set(manifest.workloads.filter((w) => manifest.workloadServices[w.id]?.length).map((w) => mapNamespace(input.namespaceMapping, w.namespace)))];
  const [workloads, withEndpoints] = await Promise.all([readWorkloads(target, collections), servicesWithEndpoints(target, serviceNamespaces)]);
  // The workloads not ready, with what the diagnosis needs of each.
  const notReady: Suspect[] = [];
  for (const w of manifest.workloads) {
    const namespace = mapNamespace(input.namespaceMapping, w.namespace);
    const obj = workloads.get(collectionOf(w))?.get(w.name);
    const counts = replicaCounts(obj);
    const services = manifest.workloadServices[w.id] ?? [];
    const withoutEndpoints = services.map((id) => `${namespace}/${id.split('/')[2]!}`).filter((s) => !withEndpoints.has(s));
    const reachable = obj !== undefined && workloadReady(obj) && withoutEndpoints.length === 0;
    ready.set(w.id, reachable);
    // Replicas behind a Service without endpoints serve nothing yet.
    replicas.set(w.id, { ready: reachable || services.length === 0 ? counts.ready : 0, total: counts.total });
    if (!reachable) {
      notReady.push({ workload: `${w.namespace}/${w.name}`, kind: types.get(w.type)?.kind ?? w.type, namespace, name: w.name, obj, servicesWithoutEndpoints: withoutEndpoints });
    }
  }
  notReady.sort((a, b) => a.workload.localeCompare(b.workload));
  const causes = options.diagnose === false ? [] : await diagnoseNotReady(target, notReady);
  const count = (ws: readonly WorkloadEntry[]): ReadinessCount => ({
    ready: ws.filter((w) => ready.get(w.id)).length,
    total: ws.length,
    replicas: ws.reduce((sum, w) => ({ ready: sum.ready + replicas.get(w.id)!.ready, total: sum.total + replicas.get(w.id)!.total }), { ready: 0, total: 0 }),
  });
  return {
    overall: count(manifest.workloads),
    routes: Object.fromEntries([...routeWorkloads].map(([name, ws]) => [name, count(ws)])),
    notReady: notReady.map((w) => w.workload).slice(0, 10),
    ...(causes.length ? { causes } : {}),
  };
}

/**
 * Polls the target every `pollMs` until the goal is reached or `maxWaitMs` has passed since the first
 * attempt was scheduled, then returns the last report: one activity for the whole wait, however many
 * polls it takes. Each poll is heartbeated (counts only), which is also where a pause's cancellation
 * arrives; the Web UI shows the counts on the pending activity.
 */
export async function awaitReadiness(clusters: ClusterRegistry, store: ObjectStore, keys: BackupKeyring | undefined, input: AwaitReadinessInput): Promise<ReadinessReport & { waitedMs: number }> {
  const ctx = Context.current();
  const deadline = ctx.info.scheduledTimestampMs + input.maxWaitMs;
  let diagnosedAt = 0;
  let causes: NotReadyCause[] = [];
  for (;;) {
    // Causes cost a few requests per workload: found again every few seconds, carried over between.
    const diagnose = Date.now() - diagnosedAt >= DIAGNOSE_EVERY_MS;
    const report = await checkReadiness(clusters, store, keys, input, { diagnose });
    if (diagnose) {
      diagnosedAt = Date.now();
      causes = report.causes ?? [];
    } else {
      const still = new Set(report.notReady);
      causes = causes.filter((c) => still.has(c.workload));
      if (causes.length) report.causes = causes;
    }
    ctx.heartbeat({ ready: report.overall.ready, total: report.overall.total, notReady: report.notReady.slice(0, 3), causes: causes.slice(0, 5) });
    const left = deadline - Date.now();
    if (goalReached(input.goal, report) || left <= 0) return { ...report, waitedMs: Date.now() - ctx.info.scheduledTimestampMs };
    await ctx.sleep(Math.min(input.pollMs, left));
  }
}
