// Operator control: pause, resume, approve, promote and rollback, and the progress query. Each message's
// action sits beside the validator that refuses it. Signals do what makes sense and ignore the rest;
// updates refuse what makes no sense in their validator (synchronously, so a refused update never reaches
// the history as accepted) and answer with the resulting progress.
import { setHandler, type CancellationScope } from '@temporalio/workflow';
import {
  approveSignal,
  approveUpdate,
  pauseSignal,
  pauseUpdate,
  progressQuery,
  promoteUpdate,
  resumeSignal,
  resumeUpdate,
  rollbackSignal,
  rollbackUpdate,
  type ApproveOptions,
  type MigrationProgress,
  type PromoteOptions,
  type RollbackOptions,
} from '../messages.js';
import { publish } from './publish.js';
import { isFinal, remember, type Control } from './state.js';

/** What the handlers act on: the progress, the operator's control, and the pipeline a rollback cancels. */
interface Steered {
  progress: MigrationProgress;
  control: Control;
  pipeline: CancellationScope;
}

/**
 * Sets the handlers, before the workflow's first await. The order stays as it is: messages that arrived
 * before the workflow started run as their handler is set.
 */
export function handleOperatorMessages(progress: MigrationProgress, control: Control, pipeline: CancellationScope): void {
  const steered: Steered = { progress, control, pipeline };
  const answer = <A extends unknown[]>(act: (s: Steered, ...args: A) => void) => (...args: A): MigrationProgress => {
    act(steered, ...args);
    return progress;
  };
  setHandler(progressQuery, () => progress);
  // Signals: fire and forget; what makes no sense is ignored.
  setHandler(pauseSignal, () => pause(steered));
  setHandler(resumeSignal, () => resume(steered));
  setHandler(approveSignal, (o?: ApproveOptions) => approve(steered, o));
  setHandler(rollbackSignal, (o?: RollbackOptions) => rollback(steered, o));
  // Updates: the same, but what makes no sense is rejected (synchronously) and the new state returned.
  setHandler(pauseUpdate, answer(pause), { validator: () => refuse(pauseProblem(progress)) });
  setHandler(resumeUpdate, answer(resume), { validator: () => refuse(resumeProblem(progress)) });
  setHandler(approveUpdate, answer(approve), { validator: (o: ApproveOptions) => refuse(approveProblem(progress, o)) });
  setHandler(rollbackUpdate, answer(rollback), { validator: (_o: RollbackOptions) => refuse(rollbackProblem(progress)) });
  setHandler(promoteUpdate, answer(promote), { validator: (o: PromoteOptions) => refuse(promoteProblem(progress, o)) });
}

/** Update validators: a problem rejects the update with that message. */
function refuse(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}

function pause({ progress, control }: Steered): void {
  if (progress.paused) return;
  progress.paused = true;
  control.pausedAt = Date.now();
  publish(progress);
}

function pauseProblem(p: MigrationProgress): string | undefined {
  if (isFinal(p.phase) || p.rollbackRequested) return `nothing to pause: the migration is ${p.rollbackRequested ? 'rolling back' : p.phase}`;
  if (p.paused) return 'already paused';
  return undefined;
}

function resume({ progress, control }: Steered): void {
  if (!progress.paused) return;
  progress.paused = false;
  // Paused time does not count towards the grayscale threshold.
  if (control.cutoverDeadline !== undefined && control.pausedAt !== undefined) {
    control.cutoverDeadline += Date.now() - control.pausedAt;
    progress.cutoverAt = new Date(control.cutoverDeadline).toISOString();
  }
  control.pausedAt = undefined;
  publish(progress);
}

function resumeProblem(p: MigrationProgress): string | undefined {
  return p.paused ? undefined : `not paused (phase ${p.phase})`;
}

function approve({ progress, control }: Steered, options?: ApproveOptions): void {
  const pending = progress.pendingApproval;
  if (!pending || (options?.step !== undefined && options.step !== pending.step)) return;
  control.approved = Math.max(control.approved, pending.step);
  progress.pendingApproval = undefined;
  publish(progress);
}

function approveProblem(p: MigrationProgress, o: ApproveOptions | undefined): string | undefined {
  if (!p.pendingApproval) return `no step is waiting for approval (phase ${p.phase}, step ${p.step.index}/${p.step.total})`;
  if (o?.step !== undefined && o.step !== p.pendingApproval.step) return `step ${p.pendingApproval.step} (${p.pendingApproval.weight}%) is waiting for approval, not step ${o.step}`;
  return undefined;
}

function promote({ progress, control }: Steered, options?: PromoteOptions): void {
  if (promoteProblem(progress, options)) return;
  if (options?.full) {
    control.promoteFull = true;
  } else {
    // A pending approval is the wait promote skips; otherwise the step interval.
    if (progress.pendingApproval) control.approved = Math.max(control.approved, progress.pendingApproval.step);
    control.promoteNext = progress.step.index + 1;
  }
  publish(progress);
}

function promoteProblem(p: MigrationProgress, o: PromoteOptions | undefined): string | undefined {
  if (p.rollbackRequested) return 'a rollback is under way';
  if (p.phase !== 'traffic') return `traffic is not moving (phase ${p.phase}); promote moves traffic that has started to move`;
  if (p.paused) return 'paused: resume first';
  if (o?.full) {
    const empty = routesWithoutReady(p);
    if (empty.length) return `routes without a ready workload in the target would get all their traffic: ${empty.join(', ')}; wait for them, or roll back`;
    return undefined;
  }
  if (p.step.index >= p.step.total) return `the last step (${p.step.index} of ${p.step.total}) is applied; nothing to promote`;
  return undefined;
}

/** Routes that have workloads, none of them ready in the target: promoting them would send traffic to nothing. */
function routesWithoutReady(p: MigrationProgress): string[] {
  return p.routes.filter((r) => r.total > 0 && r.ready === 0).map((r) => `${r.name} (0 of ${r.total} ready)`);
}

function rollback({ progress, control, pipeline }: Steered, options?: RollbackOptions): void {
  if (progress.rollbackRequested || isFinal(progress.phase)) return;
  progress.rollbackRequested = true;
  control.rollback = options ?? {};
  if (options?.reason) remember(progress.errors, [`rollback requested: ${options.reason}`]);
  pipeline.cancel();
}

function rollbackProblem(p: MigrationProgress): string | undefined {
  if (p.rollbackRequested) return 'a rollback is already under way';
  if (isFinal(p.phase)) {
    return `the migration has already ${p.phase === 'completed' ? 'completed' : p.phase}; kubeferry cleanup ${p.migrationId} removes what it created, or start a new one to move back`;
  }
  return undefined;
}
