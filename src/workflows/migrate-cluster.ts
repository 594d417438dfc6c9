// The migration workflow: validate -> connectivity -> backup -> restore in waves -> readiness ->
// traffic in timer-driven steps (with approval gates and a grayscale time threshold). Pause, resume,
// approve, promote and rollback arrive at any time, as signals or as validated updates (migration/control.ts).
// This file is the order of the phases and the outcome; each phase is a module of its own under
// migration/, and the branches kept for executions that predate a patch are in migration/legacy.ts.
import { ApplicationFailure, CancellationScope, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { PlanReport } from '../activities/contract.js';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest, type MigrationRequest, type MigrationRequestInput } from '../domain/request.js';
import type { MigrationProgress } from './messages.js';
import { backUp, checkConnectivity, planOnly } from './migration/backup.js';
import { handleOperatorMessages } from './migration/control.js';
import { endsFailedAfterTrafficRollback, keepsFinalProgressInMemo } from './migration/legacy.js';
import { enter, keepFinalProgress, publish, publishRequest } from './migration/publish.js';
import { waitForReadiness } from './migration/readiness.js';
import { cleanupTarget, restore, verifyRoutes } from './migration/restore.js';
import { rollbackTraffic } from './migration/routes.js';
import { errorMessage, movesTraffic, newProgress, remember, type Control } from './migration/state.js';
import { pausableSleep } from './migration/timers.js';
import { shiftTraffic } from './migration/traffic.js';
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
    if (!(progress.rollbackRequested && isCancellation(err))) {
      progress.phase = 'failed';
      remember(progress.errors, [errorMessage(err)]);
      publish(progress);
      // A failure after traffic started moving must not strand requests on a half-moved split.
      if (progress.routes.some((r) => r.weight > 0)) {
        await CancellationScope.nonCancellable(() => rollbackTraffic(request, progress));
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
    await CancellationScope.nonCancellable(async () => {
      await rollbackTraffic(request, progress);
      if (control.rollback?.cleanup && request.task !== 'backup') await cleanupTarget(request, backupId, progress);
    });
    progress.phase = 'rolled-back';
    publish(progress);
    return { migrationId, status: 'RolledBack', backupId, progress };
  }
  progress.phase = 'completed';
  publish(progress);
  return { migrationId, status: 'Completed', backupId, progress };
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
    await pausableSleep(progress, request.traffic.observeForMs, `observing at 100% target for ${request.traffic.observeFor}; rollback still possible`);
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
