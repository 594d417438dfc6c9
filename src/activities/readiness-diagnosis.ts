// Gathers, for workloads that are not ready, the signals the target already holds about why: the
// workload's conditions, Warning events of the object that creates its pods (the newest ReplicaSet of a
// Deployment; the StatefulSet, DaemonSet or Job itself), its pods' scheduling and container states, and
// failing probes. domain/readiness-causes.ts turns them into one cause each. A diagnosis never fails a
// readiness check: what cannot be read (a 403 on events, say) is left out.
import { explainNotReady, type EventSignal, type NotReadyCause, type PodSignal, type WorkloadSignals } from '../domain/readiness-causes.js';
import type { RawObject } from '../store/backup-format.js';
import type { Cluster } from '../kube/clusters.js';
import { forEachConcurrently } from '../concurrency.js';
import { selectorString, type LabelSelector } from '../objects/selectors.js';

type Condition = { type?: string; status?: string; reason?: string; message?: string };
export type DiagnosedWorkload = RawObject & {
  spec?: { replicas?: number; parallelism?: number; selector?: LabelSelector };
  status?: Record<string, unknown> & { conditions?: Condition[] };
};

export interface Suspect {
  /** "namespace/name" as the backup names it (the operator's name for it). */
  workload: string;
  kind: string;
  /** Where it is in the target. */
  namespace: string;
  name: string;
  obj?: DiagnosedWorkload;
  servicesWithoutEndpoints: string[];
}

/** Workloads diagnosed per check: each costs a few requests. */
export const MAX_DIAGNOSED = 10;
const PODS_LOOKED_AT = 3;

const uidOf = (o: RawObject) => o.metadata?.uid ?? '';
const ownedBy = (o: RawObject, uid: string) => (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);
const newest = <T extends RawObject>(items: T[], key: (o: T) => number) => items.sort((a, b) => key(b) - key(a))[0];
const created = (o: RawObject) => Date.parse(String((o.metadata as { creationTimestamp?: string } | undefined)?.creationTimestamp ?? 0)) || 0;
const revision = (o: RawObject) => Number(o.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

async function list<T extends RawObject>(target: Cluster, path: string, options: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
  // One page: a diagnosis looks at a handful, and must stay cheap in a busy namespace.
  const query = { limit: 100, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
  const page = await target.rest.get<{ items?: T[] }>(path, { query });
  return page.items ?? [];
}

type Event = RawObject & { reason?: string; message?: string; lastTimestamp?: string; eventTime?: string; count?: number };
const eventTime = (e: Event) => Date.parse(e.lastTimestamp ?? e.eventTime ?? '') || created(e);

/** The newest Warning event per reason about one object. */
async function warnings(target: Cluster, namespace: string, on: RawObject, label: string): Promise<EventSignal[]> {
  const events = await list<Event>(target, `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
    fieldSelector: `involvedObject.uid=${uidOf(on)},type=Warning`,
  });
  const byReason = new Map<string, Event>();
  for (const e of events) {
    const seen = byReason.get(e.reason ?? '');
    if (!seen || eventTime(e) > eventTime(seen)) byReason.set(e.reason ?? '', e);
  }
  return [...byReason.values()].sort((a, b) => eventTime(b) - eventTime(a))
    // The event recorder's aggregation prefix says nothing about the cause.
    .map((e) => ({ on: label, reason: e.reason ?? 'Warning', message: (e.message ?? '').replace(/^\(combined from similar events\): /, '') }));
}

type ContainerStatus = {
  name: string; ready?: boolean; restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
  // A termination's message is whatever the container wrote: never read, only its reason and exit code.
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
};
type Pod = RawObject & { status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] } };

const podReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function podSignal(target: Cluster, namespace: string, pod: Pod): Promise<PodSignal> {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const signal: PodSignal = {
    name: pod.metadata?.name ?? '',
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    ...(scheduled && scheduled.status !== 'True' ? { unscheduled: { ...(scheduled.reason ? { reason: scheduled.reason } : {}), ...(scheduled.message ? { message: scheduled.message } : {}) } } : {}),
    containers: statuses.map((c) => ({
      name: c.name,
      ready: Boolean(c.ready),
      ...(c.state?.waiting?.reason ? { waiting: { reason: c.state.waiting.reason, ...(c.state.waiting.message ? { message: c.state.waiting.message } : {}) } } : {}),
      ...(c.lastState?.terminated ? { lastTerminated: { reason: c.lastState.terminated.reason, exitCode: c.lastState.terminated.exitCode } } : {}),
      ...(c.restartCount ? { restarts: c.restartCount } : {}),
    })),
  };
  // Running but not ready, with nothing stuck: a failing probe says why.
  if (pod.status?.phase === 'Running' && !signal.containers.some((c) => c.waiting)) {
    const probe = (await warnings(target, namespace, pod, `Pod ${namespace}/${signal.name}`)).find((e) => e.reason === 'Unhealthy');
    if (probe) signal.probeFailure = probe.message;
  }
  return signal;
}

function replicasText(kind: string, obj: DiagnosedWorkload): { text?: string; wanted?: number } {
  const s = obj.status ?? {};
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const want = typeof obj.spec?.replicas === 'number' ? obj.spec.replicas : 1;
  switch (kind) {
    case 'Deployment': return { text: `${n(s.availableReplicas)} of ${want} replicas available, ${n(s.updatedReplicas)} updated`, wanted: want };
    case 'StatefulSet': return { text: `${n(s.readyReplicas)} of ${want} replicas ready`, wanted: want };
    case 'DaemonSet': return { text: `${n(s.numberReady)} of ${n(s.desiredNumberScheduled)} scheduled pods ready`, wanted: n(s.desiredNumberScheduled) };
    case 'Job': return { text: `${n(s.active)} active, ${n(s.succeeded)} succeeded, ${n(s.failed)} failed pods`, wanted: 1 };
    default: return {};
  }
}

async function signalsOf(target: Cluster, w: Suspect): Promise<WorkloadSignals> {
  const label = `${w.kind} ${w.namespace}/${w.name}`;
  const signals: WorkloadSignals = { workload: label, found: Boolean(w.obj), conditions: [], events: [], pods: [], servicesWithoutEndpoints: w.servicesWithoutEndpoints };
  const obj = w.obj;
  if (!obj) return signals;
  signals.conditions = (obj.status?.conditions ?? []).map((c) => ({
    type: c.type ?? '', status: c.status ?? '', ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}),
  }));
  const { text, wanted } = replicasText(w.kind, obj);
  if (text) signals.replicas = text;
  if (wanted !== undefined) signals.wantedPods = wanted;
  const selector = selectorString(obj.spec?.selector);
  if (!selector) return signals; // a custom resource: its conditions are all there is
  const ns = encodeURIComponent(w.namespace);
  // The object that creates the pods: a Deployment's newest ReplicaSet, or the workload itself.
  let creator: RawObject = obj;
  let creatorLabel = label;
  if (w.kind === 'Deployment') {
    const sets = (await list(target, `/apis/apps/v1/namespaces/${ns}/replicasets`, { labelSelector: selector })).filter((rs) => ownedBy(rs, uidOf(obj)));
    const rs = newest(sets, (o) => revision(o) * 1e13 + created(o));
    if (rs) {
      creator = rs;
      creatorLabel = `ReplicaSet ${w.namespace}/${rs.metadata?.name}`;
    }
  }
  const [events, pods] = await Promise.all([
    warnings(target, w.namespace, creator, creatorLabel).catch(() => [] as EventSignal[]),
    list<Pod>(target, `/api/v1/namespaces/${ns}/pods`, { labelSelector: selector }).then((ps) => ps.filter((p) => ownedBy(p, uidOf(creator)))),
  ]);
  signals.events = events;
  const notReady = pods.filter((p) => !podReady(p)).slice(0, PODS_LOOKED_AT);
  const looked = await Promise.all(notReady.map((p) => podSignal(target, w.namespace, p).catch(() => undefined)));
  // The other pods count towards the pods the workload has, with nothing to say about them.
  const rest = pods.filter((p) => !notReady.includes(p)).map((p): PodSignal => ({ name: p.metadata?.name ?? '', containers: [] }));
  signals.pods = [...looked.filter((p): p is PodSignal => p !== undefined), ...rest];
  return signals;
}

/** A cause for each workload (at most MAX_DIAGNOSED), in the order given; what cannot be read is skipped. */
export async function diagnoseNotReady(target: Cluster, suspects: readonly Suspect[]): Promise<NotReadyCause[]> {
  const picked = suspects.slice(0, MAX_DIAGNOSED);
  const causes = new Map<string, string>();
  await forEachConcurrently(picked, async (w) => {
    try {
      const cause = explainNotReady(await signalsOf(target, w));
      if (cause) causes.set(w.workload, cause);
    } catch {
      // The diagnosis is help for the operator; a readiness check must not fail because of it.
    }
  }, 4);
  return picked.filter((w) => causes.has(w.workload)).map((w) => ({ workload: w.workload, cause: causes.get(w.workload)! }));
}
