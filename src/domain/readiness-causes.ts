// Why a restored workload is not ready, read from the target's own signals: the workload's conditions,
// the warnings its controller got when creating pods (a quota, Pod Security, a webhook), its pods'
// scheduling and container states, failing readiness probes, and Services that select it without ready
// endpoints. Pure: the signals are gathered elsewhere; this picks the one that explains the most.
// Causes are the cluster's own short messages, never object contents; each is bounded in length.

export interface ConditionSignal {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A Warning event on the workload or the controller object that creates its pods (its ReplicaSet). */
export interface EventSignal {
  /** "ReplicaSet shop/web-7d9f" */
  on: string;
  reason: string;
  message: string;
}

export interface ContainerSignal {
  name: string;
  ready: boolean;
  waiting?: { reason: string; message?: string };
  /** The last termination of a restarting container: its reason and exit code (never its message). */
  lastTerminated?: { reason?: string; exitCode?: number };
  restarts?: number;
}

export interface PodSignal {
  name: string;
  phase?: string;
  /** The PodScheduled condition when it is not True (Unschedulable, with the scheduler's message). */
  unscheduled?: { reason?: string; message?: string };
  containers: ContainerSignal[];
  /** The newest "Readiness probe failed" (or liveness) warning of the pod, when it runs but is not ready. */
  probeFailure?: string;
}

export interface WorkloadSignals {
  /** "Deployment shop/web" */
  workload: string;
  found: boolean;
  conditions: ConditionSignal[];
  events: EventSignal[];
  pods: PodSignal[];
  /** Services (namespace/name) that select the workload's pods and have no ready endpoint. */
  servicesWithoutEndpoints: string[];
  /** "0 of 3 replicas available", as the workload's status says. */
  replicas?: string;
  /** Pods the workload wants; with at least that many pods, old refusals to create them no longer explain anything. */
  wantedPods?: number;
}

/** Longest cause kept: enough for the scheduler's or a quota's message, small in history and heartbeats. */
export const MAX_CAUSE_LENGTH = 300;

const clip = (text: string, max = MAX_CAUSE_LENGTH) => {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** Container waiting reasons that mean the pod will not start on its own. */
const STUCK = new Set([
  'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull', 'CrashLoopBackOff',
  'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'PreCreateHookError', 'PostStartHookError',
]);

/** Events a controller records when it cannot make or place pods. */
const CONTROLLER_FAILURES = new Set(['FailedCreate', 'FailedCreatePodSandBox', 'FailedMount', 'FailedAttachVolume', 'FailedScheduling']);

/** The most telling reason the workload is not ready, or undefined when the signals say nothing. */
export function explainNotReady(s: WorkloadSignals): string | undefined {
  if (!s.found) return 'not in the target (it was not restored, or was deleted since)';
  const condition = (type: string) => s.conditions.find((c) => c.type === type);

  // Pods that cannot even be created: a ResourceQuota, a LimitRange, Pod Security, a webhook.
  const podsMissing = s.wantedPods === undefined || s.pods.length < s.wantedPods;
  const replicaFailure = condition('ReplicaFailure');
  const failedCreate = s.events.find((e) => e.reason === 'FailedCreate');
  if (podsMissing && failedCreate) return clip(`pods cannot be created (${failedCreate.on}: ${failedCreate.reason}): ${failedCreate.message}`);
  if (podsMissing && replicaFailure?.status === 'True') return clip(`pods cannot be created (${replicaFailure.reason ?? 'ReplicaFailure'}): ${replicaFailure.message ?? ''}`);

  const unscheduled = s.pods.find((p) => p.unscheduled);
  if (unscheduled) {
    const u = unscheduled.unscheduled!;
    return clip(`pod ${unscheduled.name} cannot be scheduled (${u.reason ?? 'Unschedulable'}): ${u.message ?? 'no reason given'}`);
  }
  for (const pod of s.pods) {
    const stuck = pod.containers.find((c) => c.waiting && STUCK.has(c.waiting.reason));
    if (stuck) {
      const last = stuck.lastTerminated;
      const exit = last ? `; last exit ${last.exitCode ?? '?'}${last.reason ? ` (${last.reason})` : ''}` : '';
      const restarts = stuck.restarts ? `, ${stuck.restarts} restarts` : '';
      return clip(`container ${stuck.name} of pod ${pod.name}: ${stuck.waiting!.reason}${stuck.waiting!.message ? `: ${stuck.waiting!.message}` : ''}${exit}${restarts}`);
    }
  }
  const otherFailure = s.events.find((e) => CONTROLLER_FAILURES.has(e.reason));
  if (otherFailure) return clip(`${otherFailure.on}: ${otherFailure.reason}: ${otherFailure.message}`);
  const probing = s.pods.find((p) => p.probeFailure);
  if (probing) return clip(`pod ${probing.name} runs but is not ready: ${probing.probeFailure}`);

  const progressing = condition('Progressing');
  if (progressing?.status === 'False') return clip(`${progressing.reason ?? 'not progressing'}: ${progressing.message ?? ''}`);
  const ready = condition('Ready');
  if (ready && ready.status !== 'True' && (ready.reason || ready.message)) {
    return clip(`Ready is ${ready.status}${ready.reason ? ` (${ready.reason})` : ''}${ready.message ? `: ${ready.message}` : ''}`);
  }
  if (s.servicesWithoutEndpoints.length) {
    const names = s.servicesWithoutEndpoints.slice(0, 3).join(', ');
    return clip(`Service${s.servicesWithoutEndpoints.length > 1 ? 's' : ''} ${names} select${s.servicesWithoutEndpoints.length > 1 ? '' : 's'} it but ${s.servicesWithoutEndpoints.length > 1 ? 'have' : 'has'} no ready endpoint`);
  }
  const pending = s.pods.find((p) => p.phase === 'Pending');
  if (pending) return clip(`pod ${pending.name} is Pending`);
  return s.replicas ? clip(s.replicas) : undefined;
}

/** One not-ready workload and why, as progress, failures and the Web UI show it. */
export interface NotReadyCause {
  workload: string;
  cause: string;
}

/** "shop/web: pods cannot be created ...; shop/cart: ..." for a failure message, bounded. */
export function describeCauses(causes: readonly NotReadyCause[], max = 5): string {
  const shown = causes.slice(0, max).map((c) => `${c.workload}: ${c.cause}`);
  return shown.join('; ') + (causes.length > max ? `; and ${causes.length - max} more` : '');
}
