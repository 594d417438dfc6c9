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
import { readManifest } from './backup.js';
import type { BackupManifest, RawObject, WorkloadEntry } from './backup-format.js';
import { apiStatus, type Cluster, type ClusterRegistry } from './clusters.js';
import { listPages, resourcePath } from './kube-rest.js';
import { forEachConcurrently } from './concurrency.js';
import { diagnoseNotReady, type Suspect } from './readiness-diagnosis.js';
import type { NotReadyCause } from '../domain/readiness-causes.js';
import type { ObjectStore } from './object-store.js';

/** How often a wait for readiness looks again at why workloads are not ready. */
const DIAGNOSE_EVERY_MS = 5_000;

type Status = Record<string, unknown> & { observedGeneration?: number; conditions?: { type?: string; status?: string; observedGeneration?: number }[] };
type Workload = RawObject & { spec?: Record<string, unknown>; status?: Status; metadata?: RawObject['metadata'] & { generation?: number } };

const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const condition = (w: Workload, type: string) => w.status?.conditions?.find((c) => c.type === type);
/** The controller has seen the latest spec. */
const observed = (w: Workload) => num(w.status?.observedGeneration) >= (w.metadata?.generation ?? 1);

/** Whether a workload is ready, by its kind's own status; one rule per kind. */
export function workloadReady(w: Workload): boolean {
  const s = w.status ?? {};
  const want = typeof w.spec?.replicas === 'number' ? w.spec.replicas : 1;
  switch (w.kind) {
    case 'Deployment':
      return observed(w) && num(s.updatedReplicas) >= want && num(s.availableReplicas) >= want;
    case 'StatefulSet':
      return observed(w) && num(s.readyReplicas) >= want && num(s.updatedReplicas ?? s.currentReplicas) >= want && num(s.availableReplicas ?? s.readyReplicas) >= want;
    case 'DaemonSet': {
      const desired = num(s.desiredNumberScheduled);
      return observed(w) && desired > 0 && num(s.numberReady) >= desired && num(s.updatedNumberScheduled) >= desired && num(s.numberAvailable) >= desired;
    }
    case 'Job':
      // A finished Job is done; a running one is ready once one of its pods is.
      if (condition(w, 'Failed')?.status === 'True') return false;
      return condition(w, 'Complete')?.status === 'True' || num(s.ready) >= 1;
    default: {
      // Custom resources: a Ready condition that is True and (where reported) about the latest spec.
      const ready = condition(w, 'Ready');
      if (ready?.status !== 'True') return false;
      const generation = ready.observedGeneration ?? w.status?.observedGeneration;
      return generation === undefined || generation >= (w.metadata?.generation ?? 1);
    }
  }
}

/** Wanted and ready replicas of a workload, for a grayscale ratio weighted by replicas. */
export function replicaCounts(w: Workload | undefined): { ready: number; total: number } {
  // Not restored yet: its replica count is not known here, so it counts as one replica, not ready.
  if (!w) return { ready: 0, total: 1 };
  const s = w.status ?? {};
  switch (w.kind) {
    case 'Deployment':
      return { ready: num(s.availableReplicas), total: typeof w.spec?.replicas === 'number' ? w.spec.replicas : 1 };
    case 'StatefulSet':
      return { ready: num(s.readyReplicas), total: typeof w.spec?.replicas === 'number' ? w.spec.replicas : 1 };
    case 'DaemonSet':
      return { ready: num(s.numberReady), total: num(s.desiredNumberScheduled) };
    default:
      return { ready: workloadReady(w) ? 1 : 0, total: 1 };
  }
}

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

/**
 * The workload of the backup a route names: "namespace/name", or "kind/namespace/name" when a namespace
 * has two workloads of that name. Undefined when none or several match.
 */
export function findWorkload(workloads: readonly WorkloadEntry[], ref: string): WorkloadEntry | undefined {
  const parts = ref.split('/');
  const [kind, namespace, name] = parts.length === 3 ? parts : [undefined, ...parts];
  const found = workloads.filter((w) => w.namespace === namespace && w.name === name && (!kind || kindMatches(w, kind)));
  return found.length === 1 ? found[0] : undefined;
}

const kindMatches = (w: WorkloadEntry, kind: string) => {
  const k = kind.toLowerCase();
  const idKind = w.id.slice(0, w.id.indexOf('/')).toLowerCase();
  return idKind === k || idKind.split('.')[0] === k || w.type === k || w.type.split('.')[0] === k || w.type.split('.')[0] === `${k}s`;
};

/** Each route's workloads in the backup; a non-retryable failure naming those the backup does not hold. */
export function routeWorkloadsOf(manifest: BackupManifest, routes: ReadinessInput['routes']): Map<string, WorkloadEntry[]> {
  const routeWorkloads = new Map<string, WorkloadEntry[]>();
  const unknown: string[] = [];
  for (const route of routes) {
    routeWorkloads.set(route.name, route.workloads.flatMap((ref) => {
      const w = findWorkload(manifest.workloads, ref);
      if (!w) unknown.push(`route "${route.name}": ${ref}`);
      return w ? [w] : [];
    }));
  }
  if (unknown.length) {
    throw ApplicationFailure.nonRetryable(
      `routes name workloads that backup "${manifest.backupId}" does not hold (or holds twice under that name; write "kind/namespace/name"): ` +
        `${unknown.join(', ')}. Its workloads: ${manifest.workloads.slice(0, 20).map((w) => `${w.namespace}/${w.name}`).join(', ') || '(none)'}`,
      'InvalidRequest',
    );
  }
  return routeWorkloads;
}

export async function checkReadiness(
  clusters: ClusterRegistry, store: ObjectStore, input: ReadinessInput, options: { diagnose?: boolean } = {},
): Promise<ReadinessReport> {
  const manifest = await readManifest(store, input);
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
export async function awaitReadiness(clusters: ClusterRegistry, store: ObjectStore, input: AwaitReadinessInput): Promise<ReadinessReport & { waitedMs: number }> {
  const ctx = Context.current();
  const deadline = ctx.info.scheduledTimestampMs + input.maxWaitMs;
  let diagnosedAt = 0;
  let causes: NotReadyCause[] = [];
  for (;;) {
    // Causes cost a few requests per workload: found again every few seconds, carried over between.
    const diagnose = Date.now() - diagnosedAt >= DIAGNOSE_EVERY_MS;
    const report = await checkReadiness(clusters, store, input, { diagnose });
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
