// Waiting for the restored workloads to be ready in the target: one activity polls for as long as they
// take (a pause cancels it, resume starts it again with the time that is left), and the workflow decides
// with the same rules (domain/readiness-goal.ts) whether the wait is over.
import { CancellationScope, condition } from '@temporalio/workflow';
import type { ReadinessReport } from '../../activities/contract.js';
import { goalReached, type ReadinessGoal } from '../../domain/readiness-goal.js';
import type { MigrationRequest } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { WAIT, waiting } from './activities.js';
import { pollForReadiness, waitsForReadinessInActivity } from './legacy.js';
import { applyReadiness, ratioRule, readinessInput, readinessTimeout } from './readiness-checks.js';
import { movesTraffic } from './state.js';
import { whileNotPaused } from './timers.js';

/** The readiness phase: until every workload is ready, or (when traffic moves) the first step can send some. */
export async function waitForReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  if (!waitsForReadinessInActivity()) return pollForReadiness(request, backupId, progress);
  const timeoutMs = request.readiness.timeoutMs;
  // Traffic may start as soon as the first step can send some of it somewhere; the steps wait for the rest.
  const firstStep = request.traffic.steps[0]!.weight;
  const goal: ReadinessGoal = { ...ratioRule(request), routes: request.routes.map((r) => r.name), weight: firstStep, until: movesTraffic(request) ? 'first-traffic' : 'all' };
  for (let waited = 0; ;) {
    const { report, waitedMs } = await awaitReadiness(request, backupId, progress, goal, timeoutMs - waited, 'wait for workloads to be ready');
    waited += waitedMs;
    if (goalReached(goal, report)) return;
    if (waited >= timeoutMs) throw readinessTimeout(request, report);
  }
}

/**
 * Waits (at most `maxWaitMs` of unpaused time) for the goal, in one activity; a pause cancels it and
 * it starts again on resume with what is left. Returns the last report and the unpaused time waited.
 */
export async function awaitReadiness(
  request: MigrationRequest, backupId: string, progress: MigrationProgress, goal: ReadinessGoal, maxWaitMs: number, summary: string,
  interrupt?: () => boolean,
): Promise<{ report: ReadinessReport; waitedMs: number }>;
export async function awaitReadiness(
  request: MigrationRequest, backupId: string, progress: MigrationProgress, goal: ReadinessGoal, maxWaitMs: number, summary: string,
  interrupt: () => boolean,
): Promise<{ report?: ReadinessReport; waitedMs: number }>;
export async function awaitReadiness(
  request: MigrationRequest, backupId: string, progress: MigrationProgress, goal: ReadinessGoal, maxWaitMs: number, summary: string,
  interrupt?: () => boolean,
): Promise<{ report?: ReadinessReport; waitedMs: number }> {
  let waitedMs = 0;
  for (;;) {
    await whileNotPaused(progress);
    if (interrupt?.()) return { waitedMs };
    const started = Date.now();
    const left = Math.max(0, maxWaitMs - waitedMs);
    const scope = new CancellationScope();
    let report: (ReadinessReport & { waitedMs: number }) | undefined;
    try {
      report = await scope.run(() => Promise.race([
        waiting.awaitReadiness.executeWithOptions({ ...WAIT, startToCloseTimeout: left + 120_000, summary }, [{
          ...readinessInput(request, backupId), goal, maxWaitMs: left, pollMs: request.readiness.pollIntervalMs,
        }]),
        condition(() => progress.paused || Boolean(interrupt?.())).then(() => undefined),
      ]));
    } finally {
      // A pause won the race: the activity is cancelled and starts again on resume. (A cancellation from
      // outside, a rollback, is thrown on as it is.)
      scope.cancel();
    }
    // The activity measures its wait from its scheduling (retries included); a cancelled one by this clock.
    waitedMs += Math.max(Date.now() - started, report?.waitedMs ?? 0);
    if (report) {
      const { waitedMs: _, ...counts } = report;
      applyReadiness(progress, counts);
      return { report: counts, waitedMs };
    }
  }
}
