// The traffic phase: route weights move to the target in timer-driven steps, each capped by the
// grayscale ratio (a step the ratio does not allow yet is held, re-checking readiness), with approval
// gates, promote, and the grayscale time threshold that moves all traffic at once.
import { condition, log } from '@temporalio/workflow';
import type { ReadinessReport } from '../../activities/contract.js';
import { formatDuration } from '../../domain/duration.js';
import { capped, weightFor, type ReadinessGoal } from '../../domain/readiness-goal.js';
import type { MigrationRequest, StepSpec } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { holdStepByPolling, waitsForReadinessInActivity } from './legacy.js';
import { publish } from './publish.js';
import { awaitReadiness } from './readiness.js';
import { heldTooLong, ratioRule, refreshReadiness } from './readiness-checks.js';
import { applyWeight } from './routes.js';
import { remember, routeProgress, type Control } from './state.js';
import { pausableSleep, whileNotPaused, type Deadline } from './timers.js';
import { watchingRoutes } from './watch.js';

export async function shiftTraffic(request: MigrationRequest, backupId: string, progress: MigrationProgress, control: Control): Promise<void> {
  const steps = request.traffic.steps;
  const intervalMs = request.traffic.stepIntervalMs;
  const threshold = request.traffic.cutoverAfterMs;
  if (threshold !== undefined) {
    control.cutoverDeadline = Date.now() + threshold;
    progress.cutoverAt = new Date(control.cutoverDeadline).toISOString();
  }
  // The grayscale time threshold has passed (never while paused: a pause stops that clock), or an
  // operator promoted the migration fully.
  const cutoverDue = () => control.promoteFull === true || (control.cutoverDeadline !== undefined && !progress.paused && Date.now() >= control.cutoverDeadline);
  const untilCutover = () => (control.cutoverDeadline === undefined ? undefined : Math.max(0, control.cutoverDeadline - Date.now()));
  const cutoverClock: Deadline = { due: cutoverDue, within: untilCutover };
  progress.step.total = steps.length;
  // Every wait with traffic split watches the routes (watch.ts): a pause too, however long it lasts.
  const untilResumed = () => (progress.paused ? watchingRoutes(request, progress, () => whileNotPaused(progress)) : Promise.resolve());

  for (const [i, step] of steps.entries()) {
    await untilResumed();
    if (cutoverDue()) break;
    progress.step.index = i + 1;
    if (step.approval && control.approved < i + 1) {
      progress.pendingApproval = { step: i + 1, weight: step.weight, since: new Date(Date.now()).toISOString() };
      publish(progress);
      log.info('traffic step waits for approval', { step: i + 1, weight: step.weight });
      await watchingRoutes(request, progress, async () => {
        while (control.approved < i + 1 && !cutoverDue()) {
          const approvedOrDue = () => control.approved >= i + 1 || cutoverDue();
          const wait = untilCutover();
          await (wait === undefined ? condition(approvedOrDue) : condition(approvedOrDue, wait));
        }
      });
      progress.pendingApproval = undefined;
      if (cutoverDue()) break;
      await untilResumed();
    }
    // A step whose weight the grayscale ratio does not allow yet holds at what it allows, re-checking
    // readiness, until it does or the readiness timeout runs out (then the migration fails and rolls back).
    const stepsEnded = waitsForReadinessInActivity()
      ? await holdStep(request, backupId, progress, i, step, cutoverClock)
      : await holdStepByPolling(request, backupId, progress, i, step, cutoverClock);
    if (stepsEnded) break;
    log.info('traffic step applied', { step: i + 1, planned: step.weight, weights: progress.routes.map((r) => `${r.name}=${r.weight}`) });
    if (i < steps.length - 1) {
      const next = steps[i + 1]!;
      progress.step.nextAt = new Date(Date.now() + intervalMs).toISOString();
      publish(progress);
      // `promote` makes the next step due now; the threshold or `promote --full` ends the steps.
      const nextDue = () => (control.promoteNext ?? 0) > i + 1;
      const stepClock: Deadline = { due: () => cutoverDue() || nextDue(), within: () => (nextDue() ? 0 : untilCutover()) };
      await watchingRoutes(request, progress, () =>
        pausableSleep(progress, intervalMs, `weight ${step.weight}% -> ${next.weight}% in ${formatDuration(intervalMs)}${next.approval ? ' (needs approval)' : ''}`, stepClock));
    }
  }
  progress.step.nextAt = undefined;
  if (cutoverDue()) await cutover(request, backupId, progress, control.promoteFull ? 'promote' : 'threshold');
}

/**
 * Applies step `i` at the weight the grayscale ratio allows, then, while the ratio holds a route below
 * the step, waits for readiness (one activity) and climbs. Returns true when the steps end while held:
 * the threshold passed or an operator promoted fully.
 */
async function holdStep(request: MigrationRequest, backupId: string, progress: MigrationProgress, i: number, step: StepSpec, cutover: Deadline): Promise<boolean> {
  const holdLimitMs = request.readiness.timeoutMs;
  let report: ReadinessReport = await refreshReadiness(request, backupId, progress);
  for (let held = 0; ;) {
    const current: Record<string, number> = {};
    for (const route of request.routes) {
      await applyWeight(route, weightFor(ratioRule(request), step.weight, report, route.name), progress, `route ${route.name}: step ${i + 1}/${request.traffic.steps.length}`);
      current[route.name] = routeProgress(progress, route.name).weight;
    }
    publish(progress);
    if (!request.routes.some((r) => capped(ratioRule(request), step.weight, report, r.name))) return false;
    if (cutover.due()) return true;
    if (held >= holdLimitMs) throw heldTooLong(request, i, step.weight, report);
    const goal: ReadinessGoal = { ...ratioRule(request), routes: request.routes.map((r) => r.name), weight: step.weight, until: 'step', current };
    const wait = Math.min(holdLimitMs - held, cutover.within() ?? Infinity);
    const waited = await watchingRoutes(request, progress, () =>
      awaitReadiness(request, backupId, progress, goal, wait, `step ${i + 1} held at the grayscale ratio (${report.overall.ready} of ${report.overall.total} ready)`, () => cutover.due()));
    held += waited.waitedMs;
    if (!waited.report) return true; // promoted fully while held
    report = waited.report;
  }
}

/**
 * The grayscale time threshold passed: every route goes to 100 % target at once, whatever step it was
 * at, except a route with no ready workload in the target (it would answer errors), which is reported.
 */
async function cutover(request: MigrationRequest, backupId: string, progress: MigrationProgress, by: 'threshold' | 'promote'): Promise<void> {
  const report = await refreshReadiness(request, backupId, progress);
  const heldBack: string[] = [];
  for (const route of request.routes) {
    const own = report.routes[route.name] ?? { ready: 0, total: 0 };
    if (own.total > 0 && own.ready === 0) {
      heldBack.push(route.name);
      continue;
    }
    await applyWeight(route, 100, progress, `route ${route.name}: ${by === 'promote' ? 'promote --full' : 'grayscale time threshold'}, all traffic to the target`);
  }
  progress.cutover = { at: new Date(Date.now()).toISOString(), heldBack, ...(by === 'promote' ? { by } : {}) };
  if (heldBack.length) {
    const what = by === 'promote' ? 'promoted fully' : 'grayscale time threshold passed';
    remember(progress.errors, [`${what}, but routes ${heldBack.join(', ')} have no ready workload in ${request.target.cluster}; their traffic stays where it was`]);
  }
  publish(progress);
}
