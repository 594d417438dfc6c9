// Pre-patch branches, all in one place. Each patch below kept the migration's command sequence as it was
// for executions that started before it (histories recorded before it replay the old branch: the
// test/histories/*.pre-*.json files), and each says what the old sequence was.
//
// When one can go: once no running migration started before the release that brought its patch
// (`temporal workflow list --query 'WorkflowType="migrateCluster" AND ExecutionStatus="Running"'` lists
// none that old; an approval gate or observeFor can keep one open for long). Then call deprecatePatch(id)
// in place of patched(id), delete the old branch and the pre-patch histories that replay it; once no
// running migration started before that release either, remove the deprecatePatch call too.
import { patched, type ActivityOptions } from '@temporalio/workflow';
import { BULK, SETTLING_BULK } from './activities.js';
import { readyPercent } from '../../domain/progress.js';
import { ratioFor, weightFor } from '../../domain/readiness-goal.js';
import type { MigrationRequest, StepSpec } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { publish } from './publish.js';
import { heldTooLong, ratioRule, readinessTimeout, refreshReadiness } from './readiness-checks.js';
import { applyWeight } from './routes.js';
import { movesTraffic } from './state.js';
import { pausableSleep, type Deadline } from './timers.js';

/**
 * Patch `failed-phase-after-traffic-rollback` (dbae331): a migration that failed after traffic started
 * moving is in phase 'failed' again once its routes are back on the source (one more search attribute
 * upsert, MigrationPhase=failed). Before: it ended in 'rolling-back'. Replayed by
 * held-step-timeout.pre-patch.json.
 */
export const endsFailedAfterTrafficRollback = () => patched('failed-phase-after-traffic-rollback');

/**
 * Patch `readiness-waits-in-activity` (fd78fd2): the readiness wait, and a traffic step held at the
 * grayscale ratio, are one awaitReadiness activity each (cancelled by a pause, started again on
 * resume), so the history no longer grows with how long workloads take. Before: a checkReadiness
 * activity and a readiness.pollInterval timer for every poll (pollForReadiness and holdStepByPolling
 * below). Replayed by the *.pre-readiness-patch.json histories.
 */
export const waitsForReadinessInActivity = () => patched('readiness-waits-in-activity');

/**
 * Patch `routes-verified-after-restore` (362d5b0): a migration that moves traffic runs verifyRoutes
 * after the last restore wave, before readiness (the router objects may have come with the restore).
 * Before: readiness followed the last wave at once. Replayed by the *.pre-front-door-patch.json histories.
 */
export const verifiesRoutesAfterRestore = () => patched('routes-verified-after-restore');

/**
 * Patch `admission-preflight` (063f9a7): unless admission is "off", a checkAdmission activity (a dry run
 * of every workload's pods in the target) runs before the first wave that holds workloads. Before: that
 * wave's restoreWave came straight after the previous one. Replayed by the *.pre-front-door-patch.json
 * histories.
 */
export const runsAdmissionPreflight = () => patched('admission-preflight');

/**
 * Patch `final-progress-memo` (0d68eec): a migration that fails (not one cancelled by its rollback)
 * writes its final progress to its memo before the failure is thrown. Before: no memo upsert. Replayed
 * by held-step-timeout.pre-front-door-patch.json.
 */
export const keepsFinalProgressInMemo = () => patched('final-progress-memo');

/**
 * Patch `route-weights-watched`: while traffic is split and the migration waits (step interval, step
 * held at the ratio, approval, pause, observation), a watchRouteWeights activity reads the routes and a
 * weight found elsewhere is set again (watch.ts). Before: nothing ran during those waits, only their
 * timers and readiness activities. Replayed by the *.pre-watch-patch.json histories.
 */
export const watchesRoutesWhileWaiting = () => patched('route-weights-watched');

/**
 * Patch `bulk-cancel-settles`: backupResources, preflightRestore, checkAdmission and restoreWave are
 * cancelled with WAIT_CANCELLATION_COMPLETED, so a rollback's traffic rollback and cleanup start only
 * once the cancelled attempt has stopped writing. Before: TRY_CANCEL (the workflow went on at once, and
 * a cleanup could race the attempt it had cancelled). Replayed by the *.pre-settle-patch.json histories.
 */
export const bulkOptions = (): ActivityOptions => (patched('bulk-cancel-settles') ? SETTLING_BULK : BULK);

/**
 * Patch `rollback-settles-every-route`: a rollback waits for every route's weight to settle (allSettled)
 * and reports the routes that stayed instead of throwing the first router failure; the migration then
 * cleans up only where no stuck route may still send traffic to the target, and fails naming the
 * routes. Before: Promise.all, so one broken router failed the rollback while the others were in flight.
 * Replayed by the *.pre-rollback-patch.json histories.
 */
export const settlesEveryRoute = () => patched('rollback-settles-every-route');

/**
 * Before `readiness-waits-in-activity`: the readiness wait as a checkReadiness activity, then a timer of
 * readiness.pollInterval, per poll, until all are ready, the first step can send traffic, or the timeout.
 */
export async function pollForReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const pollMs = request.readiness.pollIntervalMs;
  const timeoutMs = request.readiness.timeoutMs;
  let waited = 0;
  const firstStep = request.traffic.steps[0]!.weight;
  for (;;) {
    const report = await refreshReadiness(request, backupId, progress);
    if (report.overall.ready >= report.overall.total) return;
    if (movesTraffic(request) && request.routes.some((r) => weightFor(ratioRule(request), firstStep, report, r.name) > 0)) return;
    if (waited >= timeoutMs) throw readinessTimeout(request, report);
    await pausableSleep(progress, pollMs, `readiness: ${report.overall.ready}/${report.overall.total} ready, next check in ${request.readiness.pollInterval}`);
    waited += pollMs;
  }
}

/**
 * Before `readiness-waits-in-activity`: a step held at the grayscale ratio, per poll a checkReadiness
 * activity, a setRouteWeight for each route whose allowed weight changed, and a readiness.pollInterval
 * timer that the threshold cuts short. Returns true when the steps end (the threshold passed while held).
 */
export async function holdStepByPolling(
  request: MigrationRequest, backupId: string, progress: MigrationProgress, i: number, step: StepSpec, cutover: Deadline,
): Promise<boolean> {
  const pollMs = request.readiness.pollIntervalMs;
  const holdLimitMs = request.readiness.timeoutMs;
  for (let held = 0; ; held += pollMs) {
    const report = await refreshReadiness(request, backupId, progress);
    let capped = false;
    for (const route of request.routes) {
      const weight = weightFor(ratioRule(request), step.weight, report, route.name);
      // Held while the ratio is below the step; a route with no ready workload at all stays at 0 without
      // holding the others (the threshold's cutover reports it).
      capped ||= readyPercent(ratioFor(ratioRule(request), report, route.name)) < step.weight;
      await applyWeight(route, weight, progress, `route ${route.name}: step ${i + 1}/${request.traffic.steps.length}`);
    }
    publish(progress);
    if (!capped) return false;
    if (cutover.due()) return true;
    if (held >= holdLimitMs) throw heldTooLong(request, i, step.weight, report);
    await pausableSleep(progress, pollMs, `step ${i + 1} held at the grayscale ratio (${report.overall.ready}/${report.overall.total} ready)`, cutover);
  }
}
