// When a workload is ready, by its kind's own status, and how many of its replicas are: the rules behind
// the grayscale ratio. One rule per kind; custom resources count through their Ready condition.
import type { RawObject } from './raw-object.js';

type Status = Record<string, unknown> & { observedGeneration?: number; conditions?: { type?: string; status?: string; observedGeneration?: number }[] };
/** A workload as the target's API server returns it. */
export type Workload = RawObject & { spec?: Record<string, unknown>; status?: Status; metadata?: RawObject['metadata'] & { generation?: number } };

const num = (v: unknown) => (typeof v === 'number' ? v : 0);
const condition = (w: Workload, type: string) => w.status?.conditions?.find((c) => c.type === type);
/** The controller has seen the latest spec. */
const observed = (w: Workload) => num(w.status?.observedGeneration) >= (w.metadata?.generation ?? 1);
const wanted = (w: Workload) => (typeof w.spec?.replicas === 'number' ? w.spec.replicas : 1);

/** Whether a workload is ready, by its kind's own status. */
export function workloadReady(w: Workload): boolean {
  const s = w.status ?? {};
  const want = wanted(w);
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
      return { ready: num(s.availableReplicas), total: wanted(w) };
    case 'StatefulSet':
      return { ready: num(s.readyReplicas), total: wanted(w) };
    case 'DaemonSet':
      return { ready: num(s.numberReady), total: num(s.desiredNumberScheduled) };
    default:
      return { ready: workloadReady(w) ? 1 : 0, total: 1 };
  }
}
