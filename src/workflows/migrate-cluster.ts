// The migration workflow: validate -> connectivity -> backup -> restore in waves -> readiness ->
// traffic in timer-driven steps. Pause, resume and rollback arrive as signals at any time.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { MigrationActivities, PlanReport, ReadinessReport } from '../activities/contract.js';
import { parseDuration } from '../domain/duration.js';
import { readyPercent } from '../domain/progress.js';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest, type MigrationRequest, type MigrationRequestInput } from '../domain/request.js';
import { allowedWeight } from '../domain/weights.js';
import { renderDetails } from './details.js';
import {
  pauseSignal,
  progressQuery,
  resumeSignal,
  rollbackSignal,
  type MigrationPhase,
  type MigrationProgress,
} from './messages.js';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const nonRetryableErrorTypes = [
  'InvalidRequest', 'UnknownCluster', 'AccessDenied', 'BackupExists', 'BackupNotFound', 'CorruptBackup', 'UnsupportedBackupVersion',
  'TypeNotServed', 'EncryptionKeyMissing', 'Conflict',
];

// Short calls: connectivity, readiness checks, router commands.
const quick = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '1m',
  retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes },
});
// Bulk work over many objects.
const bulk = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: { ...retry, maximumAttempts: 5, nonRetryableErrorTypes },
});

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
  const progress: MigrationProgress = {
    migrationId,
    task: 'migrate',
    phase: 'validating',
    paused: false,
    rollbackRequested: false,
    objects: { backedUp: 0, restored: 0, skipped: 0, updated: 0, differing: 0, failed: 0, total: 0 },
    waves: { done: 0, total: 0 },
    readiness: { ready: 0, total: 0, percent: 0 },
    routes: [],
    step: { index: 0, total: 0 },
    errors: [],
    differences: [],
  };
  // Created before the handlers so that a rollback arriving at once still cancels the pipeline.
  const pipeline = new CancellationScope();

  setHandler(progressQuery, () => progress);
  setHandler(pauseSignal, () => {
    progress.paused = true;
  });
  setHandler(resumeSignal, () => {
    progress.paused = false;
  });
  setHandler(rollbackSignal, (options) => {
    if (progress.rollbackRequested || isFinal(progress.phase)) return;
    progress.rollbackRequested = true;
    if (options?.reason) remember(progress.errors, [`rollback requested: ${options.reason}`]);
    pipeline.cancel();
  });

  let request: MigrationRequest;
  try {
    const idProblem = migrationIdProblem(migrationId);
    if (idProblem) throw new InvalidRequestError([`(workflow id): ${idProblem}`]);
    request = parseMigrationRequest(input);
  } catch (err) {
    progress.phase = 'failed';
    if (err instanceof InvalidRequestError) {
      throw ApplicationFailure.nonRetryable(err.message, 'InvalidRequest', { problems: err.problems });
    }
    throw err;
  }
  progress.task = request.task;
  progress.routes = request.routes.map((r) => ({ name: r.name, weight: 0, ready: 0, total: r.workloads.length }));
  const backupId = request.backupId ?? migrationId;
  progress.backupId = backupId;

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
    await pipeline.run(() => runPipeline(request, backupId, progress));
  } catch (err) {
    if (!(progress.rollbackRequested && isCancellation(err))) {
      progress.phase = 'failed';
      remember(progress.errors, [errorMessage(err)]);
      publish(progress);
      // A failure after traffic started moving must not strand requests on a half-moved split.
      if (progress.routes.some((r) => r.weight > 0)) await CancellationScope.nonCancellable(() => rollbackTraffic(request, progress));
      throw err;
    }
  }
  if (progress.rollbackRequested) {
    await CancellationScope.nonCancellable(() => rollbackTraffic(request, progress));
    progress.phase = 'rolled-back';
    publish(progress);
    return { migrationId, status: 'RolledBack', backupId, progress };
  }
  progress.phase = 'completed';
  publish(progress);
  return { migrationId, status: 'Completed', backupId, progress };
}

/** The dry run: what a migration would copy, in which waves, and what it would meet in the target. */
async function planOnly(request: MigrationRequest, progress: MigrationProgress): Promise<PlanReport> {
  enter(progress, 'connectivity');
  await quick.checkConnectivity({
    source: request.source.cluster, target: request.target.cluster, storage: request.storage,
    needs: { source: true, target: true, storage: false },
  });
  enter(progress, 'planning');
  const plan = await bulk.planMigration({
    source: request.source.cluster,
    target: request.target.cluster,
    ...selectionOf(request),
    namespaceMapping: request.namespaces.mapping,
  });
  progress.objects.total = plan.objects;
  progress.waves.total = plan.waves.length;
  return plan;
}

/** The request's filters, as the activities that read the source take them. */
function selectionOf(request: MigrationRequest) {
  return {
    namespaces: { include: request.namespaces.include, exclude: request.namespaces.exclude },
    resources: { include: request.resources.include, exclude: request.resources.exclude },
    clusterResources: request.clusterResources,
    ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
  };
}

async function runPipeline(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const storage = request.storage;
  const doesBackup = request.task !== 'restore';
  const doesRestore = request.task !== 'backup';

  enter(progress, 'connectivity');
  await quick.checkConnectivity({
    source: request.source.cluster,
    target: request.target.cluster,
    storage,
    needs: { source: doesBackup, target: doesRestore, storage: true },
  });

  let summary;
  if (doesBackup) {
    await whileNotPaused(progress);
    enter(progress, 'backup');
    summary = await bulk.backupResources({
      migrationId: progress.migrationId,
      backupId,
      source: request.source.cluster,
      storage,
      ...selectionOf(request),
    });
    progress.objects.backedUp = summary.objects;
  } else {
    summary = await quick.describeBackup({ storage, backupId });
  }
  progress.objects.total = summary.objects;
  progress.leftOut = summary.leftOut;
  progress.plan = summary.plan;
  publish(progress);
  if (!doesRestore) return;

  enter(progress, 'restore');
  // Nothing is written before every archive is verified (and, for "fail", every conflict is known).
  const namespaceMapping = request.namespaces.mapping;
  const preflight = await bulk.preflightRestore({
    backupId, target: request.target.cluster, storage, findConflicts: request.existingObjects === 'fail', namespaceMapping,
  });
  if (preflight.conflicts > 0) {
    throw ApplicationFailure.nonRetryable(
      `${preflight.conflicts} object(s) of backup "${backupId}" already exist in ${request.target.cluster} and existingObjects is "fail"; ` +
        `nothing was written. Remove them, or choose existingObjects "skip" or "update". Existing: ${preflight.examples.join(', ')}`,
      'Conflict',
    );
  }
  const waves = summary.waves;
  progress.waves.total = waves.length;
  for (const wave of waves) {
    await whileNotPaused(progress);
    const result = await bulk.restoreWave({
      migrationId: progress.migrationId,
      backupId,
      target: request.target.cluster,
      storage,
      wave: wave.index,
      kinds: wave.kinds,
      existingObjects: request.existingObjects,
      namespaceMapping,
      keepNodePorts: request.sanitize.keepNodePorts,
    });
    progress.objects.restored += result.created;
    progress.objects.skipped += result.skipped;
    progress.objects.updated += result.updated;
    progress.objects.differing += result.differing;
    remember(progress.differences, result.differences);
    progress.objects.failed += result.failed;
    remember(progress.errors, result.errors);
    progress.waves.done += 1;
    publish(progress);
  }
  if (progress.objects.failed > 0) {
    throw ApplicationFailure.nonRetryable(
      `${progress.objects.failed} object(s) could not be restored into ${request.target.cluster}; traffic was not moved. ` +
        `First errors:\n${progress.errors.slice(0, 5).join('\n')}`,
      'RestoreFailed',
    );
  }

  enter(progress, 'readiness');
  await waitForReadiness(request, backupId, progress);
  if (request.task !== 'migrate' || request.routes.length === 0) return;

  enter(progress, 'traffic');
  await shiftTraffic(request, backupId, progress);
}

async function waitForReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const pollMs = parseDuration(request.readiness.pollInterval)!;
  const timeoutMs = parseDuration(request.readiness.timeout)!;
  let waited = 0;
  for (;;) {
    const report = await refreshReadiness(request, backupId, progress);
    if (report.overall.ready >= report.overall.total) return;
    if (waited >= timeoutMs) {
      throw ApplicationFailure.nonRetryable(
        `${report.overall.total - report.overall.ready} of ${report.overall.total} workloads are not ready in ` +
          `${request.target.cluster} after ${request.readiness.timeout}; traffic was not moved. Not ready: ${report.notReady.join(', ')}`,
        'ReadinessTimeout',
      );
    }
    await pausableSleep(progress, pollMs);
    waited += pollMs;
  }
}

async function refreshReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<ReadinessReport> {
  const report = await quick.checkReadiness({
    backupId,
    target: request.target.cluster,
    storage: request.storage,
    routes: request.routes.map((r) => ({ name: r.name, workloads: r.workloads })),
    namespaceMapping: request.namespaces.mapping,
  });
  progress.readiness = { ...report.overall, percent: readyPercent(report.overall) };
  for (const route of progress.routes) {
    const count = report.routes[route.name];
    if (count) Object.assign(route, count);
  }
  return report;
}

async function shiftTraffic(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const steps = request.traffic.steps;
  const intervalMs = parseDuration(request.traffic.stepInterval)!;
  const pollMs = parseDuration(request.readiness.pollInterval)!;
  const holdLimitMs = parseDuration(request.readiness.timeout)!;
  progress.step.total = steps.length;
  for (const [i, planned] of steps.entries()) {
    await whileNotPaused(progress);
    progress.step.index = i + 1;
    // A step whose weight the grayscale ratio does not allow yet holds at what it allows, re-checking
    // readiness, until it does or the readiness timeout runs out (then the migration fails and rolls back).
    for (let held = 0; ; held += pollMs) {
      const report = await refreshReadiness(request, backupId, progress);
      let capped = false;
      for (const route of request.routes) {
        const weight = allowedWeight(planned, report.overall, report.routes[route.name] ?? { ready: 0, total: 0 });
        capped ||= weight < planned;
        const current = routeProgress(progress, route.name);
        if (weight !== current.weight) current.weight = (await quick.setRouteWeight({ route, weight })).weight;
      }
      if (!capped) break;
      if (held >= holdLimitMs) {
        throw ApplicationFailure.nonRetryable(
          `traffic step ${i + 1} (${planned}%) was held for ${request.readiness.timeout} because only ` +
            `${report.overall.ready} of ${report.overall.total} workloads are ready in ${request.target.cluster} ` +
            `(not ready: ${report.notReady.join(', ')}); traffic was moved back to the source`,
          'ReadinessTimeout',
        );
      }
      await pausableSleep(progress, pollMs);
    }
    publish(progress);
    log.info('traffic step applied', { step: i + 1, planned, weights: progress.routes.map((r) => `${r.name}=${r.weight}`) });
    if (i < steps.length - 1) {
      progress.step.nextAt = new Date(Date.now() + intervalMs).toISOString();
      await pausableSleep(progress, intervalMs);
    }
  }
  progress.step.nextAt = undefined;
}

/** All routes back to the source at once; weights are set in parallel, each verified by its router. */
async function rollbackTraffic(request: MigrationRequest, progress: MigrationProgress): Promise<void> {
  progress.phase = 'rolling-back';
  await Promise.all(
    request.routes.map(async (route) => {
      const applied = await quick.setRouteWeight({ route, weight: 0 });
      routeProgress(progress, route.name).weight = applied.weight;
    }),
  );
}

/** Blocks while the operator has paused the migration. */
async function whileNotPaused(progress: MigrationProgress): Promise<void> {
  if (progress.paused) await condition(() => !progress.paused);
}

/** Sleeps `ms` of unpaused time: a pause stops the clock, resume continues with what was left. */
async function pausableSleep(progress: MigrationProgress, ms: number): Promise<void> {
  let remaining = ms;
  while (remaining > 0) {
    await whileNotPaused(progress);
    const started = Date.now();
    await condition(() => progress.paused, remaining);
    remaining -= Date.now() - started;
  }
}

/** Keeps the newest messages only: the progress query and the result stay small on long runs. */
const KEPT_MESSAGES = 50;
function remember(list: string[], messages: readonly string[]): void {
  list.push(...messages);
  list.splice(0, Math.max(0, list.length - KEPT_MESSAGES));
}

function enter(progress: MigrationProgress, phase: MigrationPhase): void {
  progress.phase = phase;
  log.info('migration phase', { phase });
  publish(progress);
}

/** Shows the progress in the Web UI's current details. */
function publish(progress: MigrationProgress): void {
  setCurrentDetails(renderDetails(progress));
}

function routeProgress(progress: MigrationProgress, name: string) {
  return progress.routes.find((r) => r.name === name)!;
}

function isFinal(phase: MigrationPhase): boolean {
  return phase === 'completed' || phase === 'rolled-back' || phase === 'failed';
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}
