// The migration workflow: validate -> connectivity -> backup -> restore in waves -> readiness ->
// traffic in timer-driven steps (with approval gates and a grayscale time threshold). Pause, resume,
// approve, promote and rollback arrive at any time, as signals or as validated updates (migration/control.ts).
// This file is the order of the phases and the outcome; each phase is a module of its own under
// migration/, and the branches kept for executions that predate a patch are in migration/legacy.ts.
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { PlanReport } from '../activities/contract.js';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest, type MigrationRequest, type MigrationRequestInput } from '../domain/request.js';
import type { MigrationProgress } from './messages.js';
import { backUp, checkConnectivity, planOnly } from './migration/backup.js';
import { handleOperatorMessages } from './migration/control.js';
import { endsFailedAfterTrafficRollback, keepsFinalProgressInMemo, settlesEveryRoute } from './migration/legacy.js';
import { enter, keepFinalProgress, publish, publishRequest } from './migration/publish.js';
import { waitForReadiness } from './migration/readiness.js';
import { cleanupTarget, restore, verifyRoutes } from './migration/restore.js';
import { rollbackTraffic, type StuckRoute } from './migration/routes.js';
import { errorMessage, movesTraffic, newProgress, remember, type Control } from './migration/state.js';
import { pausableSleep } from './migration/timers.js';
import { shiftTraffic } from './migration/traffic.js';
import { watchingRoutes } from './migration/watch.js';
import { FAILURE } from '../domain/failures.js';

export interface MigrationResult {
  migrationId: string;
  /** Planned: a `plan` task finished (nothing was written); see `plan`. */
  status: 'Completed' | 'RolledBack' | 'Planned';
  backupId?: string;
  progress: MigrationProgress;
  plan?: PlanReport;
}

export async function migrateCluster(input: MigrationRequestInput): Promise<MigrationResult> {
  const migrationId = workflowInfo().workflowId;
  const progress = newProgress(migrationId);
  const control: Control = { approved: 0 };
  // Created before the handlers so that a rollback arriving at once still cancels the pipeline.
  const pipeline = new CancellationScope();
  handleOperatorMessages(progress, control, pipeline);

  const request = validRequest(migrationId, input, progress);
  progress.task = request.task;
  progress.routes = request.routes.map((r) => ({ name: r.name, weight: 0, ready: 0, total: r.workloads.length }));
  const backupId = request.backupId ?? migrationId;
  progress.backupId = backupId;
  publishRequest(migrationId, request);

  if (request.task === 'plan') {
    const plan = await pipeline.run(() => planOnly(request, progress)).catch((err: unknown) => {
      progress.phase = 'failed';
      remember(progress.errors, [errorMessage(err)]);
      publish(progress);
      throw err;
    });
    progress.phase = 'completed';
    publish(progress);
    return { migrationId, status: 'Planned', progress, plan };
  }
  try {
    await pipeline.run(() => runPipeline(request, backupId, progress, control));
  } catch (err) {
    if (!(progress.rollbackRequested && (isCancellation(err) || endedByItsCancel(err)))) {
      progress.phase = 'failed';
      remember(progress.errors, [errorMessage(err)]);
      publish(progress);
      // A failure after traffic started moving must not strand requests on a half-moved split.
      if (progress.routes.some((r) => r.weight > 0)) {
        const stuck = await CancellationScope.nonCancellable(() => rollbackTraffic(request, progress, settlesEveryRoute));
        // The failure that ended the migration stays the one thrown; the routes that stayed are told beside it.
        remember(progress.errors, stuck.map((r) => `rollback: route ${r.name} could not be sent back to the source: ${r.error}`));
        if (endsFailedAfterTrafficRollback()) {
          progress.phase = 'failed';
          publish(progress);
        }
      }
      if (!isCancellation(err) && keepsFinalProgressInMemo()) keepFinalProgress(progress);
      throw err;
    }
  }
  if (progress.rollbackRequested) {
    const stuck = await CancellationScope.nonCancellable(async () => {
      const stayed = await rollbackTraffic(request, progress, settlesEveryRoute);
      // A route that may still send traffic to the target keeps what it serves there: no cleanup then.
      const safe = stayed.every((r) => progress.routes.find((p) => p.name === r.name)?.weight === 0);
      if (control.rollback?.cleanup && request.task !== 'backup' && safe) await cleanupTarget(request, backupId, progress);
      return stayed;
    });
    if (stuck.length) throw rollbackIncomplete(stuck, progress, Boolean(control.rollback?.cleanup && request.task !== 'backup'));
    progress.phase = 'rolled-back';
    publish(progress);
    return { migrationId, status: 'RolledBack', backupId, progress };
  }
  progress.phase = 'completed';
  publish(progress);
  return { migrationId, status: 'Completed', backupId, progress };
}

/** The failure of a rollback that could not send every route back to the source, saying what was done and what to do. */
function rollbackIncomplete(stuck: StuckRoute[], progress: MigrationProgress, cleanupAsked: boolean): ApplicationFailure {
  const onTarget = stuck.filter((r) => (progress.routes.find((p) => p.name === r.name)?.weight ?? 0) > 0);
  const message = `rollback incomplete: ${stuck.map((r) => `route ${r.name} could not be sent back to the source (${r.error})`).join('; ')}. ` +
    `Every other route is on the source. ${cleanupAsked ? (onTarget.length ? `Nothing was cleaned up, since ${onTarget.map((r) => r.name).join(', ')} may still send traffic to the target. ` : 'The cleanup ran. ') : ''}` +
    `Fix the router, then set the route to the source by hand${cleanupAsked && onTarget.length ? ` and run 'kubeferry cleanup ${progress.migrationId}'` : ''}.`;
  progress.phase = 'failed';
  remember(progress.errors, [message]);
  publish(progress);
  return ApplicationFailure.nonRetryable(message, FAILURE.RollbackIncomplete);
}

/**
 * A bulk activity cancelled by a rollback is waited for (patch `bulk-cancel-settles`); when its worker is
 * gone, the attempt ends by its heartbeat timeout instead, not retried because its cancel was requested.
 * That too is the rollback's cancel, not a failure of the migration.
 */
function endedByItsCancel(err: unknown): boolean {
  return err instanceof ActivityFailure && err.retryState === 'CANCEL_REQUESTED';
}

/** The phases of a migrate, backup or restore task, in order; a rollback cancels them wherever they are. */
async function runPipeline(request: MigrationRequest, backupId: string, progress: MigrationProgress, control: Control): Promise<void> {
  await checkConnectivity(request, progress);
  const summary = await backUp(request, backupId, progress);
  if (request.task === 'backup') return;
  await restore(request, backupId, summary, progress);
  await verifyRoutes(request);
  enter(progress, 'readiness');
  await waitForReadiness(request, backupId, progress);
  if (!movesTraffic(request)) return;
  enter(progress, 'traffic');
  await shiftTraffic(request, backupId, progress, control);
  // All traffic is on the target; the migration stays open this long so that a rollback is one signal away.
  if (request.traffic.observeForMs > 0) {
    await watchingRoutes(request, progress, () =>
      pausableSleep(progress, request.traffic.observeForMs, `observing at 100% target for ${request.traffic.observeFor}; rollback still possible`));
  }
}

/** The request, checked once; a bad one (or a workflow id that is no migration id) fails the workflow, naming each problem. */
function validRequest(migrationId: string, input: MigrationRequestInput, progress: MigrationProgress): MigrationRequest {
  try {
    const idProblem = migrationIdProblem(migrationId);
    if (idProblem) throw new InvalidRequestError([`(workflow id): ${idProblem}`]);
    return parseMigrationRequest(input);
  } catch (err) {
    progress.phase = 'failed';
    if (err instanceof InvalidRequestError) {
      throw ApplicationFailure.nonRetryable(err.message, FAILURE.InvalidRequest, { problems: err.problems });
    }
    throw err;
  }
}
