// The migration workflow: validate -> connectivity -> backup -> restore in waves -> readiness ->
// traffic in timer-driven steps (with approval gates and a grayscale time threshold). Pause, resume,
// approve and rollback arrive at any time, as signals or as validated updates.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { MigrationActivities, PlanReport, ReadinessReport } from '../activities/contract.js';
import { formatDuration, parseDuration } from '../domain/duration.js';
import { readyPercent, type ReadinessCount } from '../domain/progress.js';
import { firstPodWave } from '../domain/pod-templates.js';
import { describeCauses } from '../domain/readiness-causes.js';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest, type MigrationRequest, type MigrationRequestInput } from '../domain/request.js';
import { capped as cappedBy, goalReached, weightFor as allowedFor, ratioFor as ratioBy, type ReadinessGoal } from '../domain/readiness-goal.js';
import { renderDetails } from './details.js';
import {
  approveSignal,
  approveUpdate,
  pauseSignal,
  pauseUpdate,
  progressQuery,
  resumeSignal,
  resumeUpdate,
  rollbackSignal,
  rollbackUpdate,
  promoteUpdate,
  FINAL_PROGRESS,
  type ApproveOptions,
  type PromoteOptions,
  type MigrationPhase,
  type MigrationProgress,
  type RollbackOptions,
} from './messages.js';
import { SEARCH_ATTRIBUTES } from './search-attributes.js';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const nonRetryableErrorTypes = [
  'InvalidRequest', 'UnknownCluster', 'AccessDenied', 'BackupExists', 'BackupNotFound', 'CorruptBackup', 'UnsupportedBackupVersion',
  'TypeNotServed', 'EncryptionKeyMissing', 'Conflict', 'RouterNotConfigured', 'RouterMisconfigured', 'ObjectTooLarge', 'AdmissionRefused', 'MigrationIdReused',
];

// Short calls: connectivity, readiness checks, router commands.
const QUICK: ActivityOptions = { startToCloseTimeout: '1m', retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes } };
// Bulk work over many objects. It resumes from its heartbeat, and what cannot succeed fails as a
// non-retryable type, so an outage of S3 or an API server is waited out (retried every 30 s at most)
// for up to 6 hours, in sight in the Web UI as a pending activity, rather than failing the migration
// after a few quick attempts.
const BULK: ActivityOptions = {
  startToCloseTimeout: '30m', heartbeatTimeout: '1m', scheduleToCloseTimeout: '6h', retry: { ...retry, nonRetryableErrorTypes },
};
// A wait for readiness: one activity polling the target for as long as the workloads take; its
// heartbeat is each poll, so a pause (which cancels it) and a lost worker are noticed within 30 s.
const WAIT: ActivityOptions = { heartbeatTimeout: '30s', retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes } };
const quick = proxyActivities<MigrationActivities>(QUICK);
const waiting = proxyActivities<MigrationActivities>({ ...WAIT, startToCloseTimeout: '1m' });
const bulk = proxyActivities<MigrationActivities>(BULK);

export interface MigrationResult {
  migrationId: string;
  /** Planned: a `plan` task finished (nothing was written); see `plan`. */
  status: 'Completed' | 'RolledBack' | 'Planned';
  backupId?: string;
  progress: MigrationProgress;
  plan?: PlanReport;
}

/** What the operator's messages change, beside the progress they can read. */
interface Control {
  /** The highest step number approved so far. */
  approved: number;
  rollback?: RollbackOptions;
  pausedAt?: number;
  /** Workflow time (ms) at which the grayscale threshold moves all traffic; pauses push it back. */
  cutoverDeadline?: number;
  /** An operator's `promote --full`: all traffic to the target now. */
  promoteFull?: boolean;
  /** An operator's `promote`: the step after this one is due now. */
  promoteNext?: number;
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
  const control: Control = { approved: 0 };
  // Created before the handlers so that a rollback arriving at once still cancels the pipeline.
  const pipeline = new CancellationScope();

  const pause = () => {
    if (progress.paused) return;
    progress.paused = true;
    control.pausedAt = Date.now();
    publish(progress);
  };
  const resume = () => {
    if (!progress.paused) return;
    progress.paused = false;
    // Paused time does not count towards the grayscale threshold.
    if (control.cutoverDeadline !== undefined && control.pausedAt !== undefined) {
      control.cutoverDeadline += Date.now() - control.pausedAt;
      progress.cutoverAt = new Date(control.cutoverDeadline).toISOString();
    }
    control.pausedAt = undefined;
    publish(progress);
  };
  const approve = (options?: ApproveOptions) => {
    const pending = progress.pendingApproval;
    if (!pending || (options?.step !== undefined && options.step !== pending.step)) return;
    control.approved = Math.max(control.approved, pending.step);
    progress.pendingApproval = undefined;
    publish(progress);
  };
  const promote = (options?: PromoteOptions) => {
    if (promoteProblem(progress, options)) return;
    if (options?.full) {
      control.promoteFull = true;
    } else {
      // A pending approval is the wait promote skips; otherwise the step interval.
      if (progress.pendingApproval) control.approved = Math.max(control.approved, progress.pendingApproval.step);
      control.promoteNext = progress.step.index + 1;
    }
    publish(progress);
  };
  const rollback = (options?: RollbackOptions) => {
    if (progress.rollbackRequested || isFinal(progress.phase)) return;
    progress.rollbackRequested = true;
    control.rollback = options ?? {};
    if (options?.reason) remember(progress.errors, [`rollback requested: ${options.reason}`]);
    pipeline.cancel();
  };

  setHandler(progressQuery, () => progress);
  // Signals: fire and forget; what makes no sense is ignored.
  setHandler(pauseSignal, pause);
  setHandler(resumeSignal, resume);
  setHandler(approveSignal, approve);
  setHandler(rollbackSignal, rollback);
  // Updates: the same, but what makes no sense is rejected (synchronously) and the new state returned.
  const answer = <A extends unknown[]>(act: (...args: A) => void) => (...args: A): MigrationProgress => {
    act(...args);
    return progress;
  };
  setHandler(pauseUpdate, answer(pause), { validator: () => refuse(pauseProblem(progress)) });
  setHandler(resumeUpdate, answer(resume), { validator: () => refuse(progress.paused ? undefined : `not paused (phase ${progress.phase})`) });
  setHandler(approveUpdate, answer((o: ApproveOptions) => approve(o)), { validator: (o: ApproveOptions) => refuse(approveProblem(progress, o)) });
  setHandler(rollbackUpdate, answer((o: RollbackOptions) => rollback(o)), { validator: (_o: RollbackOptions) => refuse(rollbackProblem(progress)) });
  setHandler(promoteUpdate, answer((o: PromoteOptions) => promote(o)), { validator: (o: PromoteOptions) => refuse(promoteProblem(progress, o)) });

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
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.migrationId, value: migrationId },
    { key: SEARCH_ATTRIBUTES.task, value: request.task },
    { key: SEARCH_ATTRIBUTES.sourceCluster, value: request.source.cluster },
    { key: SEARCH_ATTRIBUTES.targetCluster, value: request.target.cluster },
  ]);

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
        // Histories from before this fix ended in 'rolling-back'; the patch keeps them replayable.
        if (patched('failed-phase-after-traffic-rollback')) {
          progress.phase = 'failed';
          publish(progress);
        }
      }
      // The final progress stays with the execution (its memo), so that status can show a failed
      // migration whole; the failure itself is thrown as it is.
      if (!isCancellation(err) && patched(FINAL_PROGRESS_MEMO)) upsertMemo({ [FINAL_PROGRESS]: progress });
      throw err;
    }
  }
  if (progress.rollbackRequested) {
    await CancellationScope.nonCancellable(async () => {
      await rollbackTraffic(request, progress);
      if (control.rollback?.cleanup && request.task !== 'backup') await cleanup(request, backupId, progress);
    });
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
  const plan = await bulk.planMigration.executeWithOptions({ ...BULK, summary: `plan ${request.source.cluster} -> ${request.target.cluster}` }, [{
    source: request.source.cluster,
    target: request.target.cluster,
    ...selectionOf(request),
    namespaceMapping: request.namespaces.mapping,
    admission: request.admission,
  }]);
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

async function runPipeline(request: MigrationRequest, backupId: string, progress: MigrationProgress, control: Control): Promise<void> {
  const storage = request.storage;
  const doesBackup = request.task !== 'restore';
  const doesRestore = request.task !== 'backup';

  enter(progress, 'connectivity');
  await quick.checkConnectivity({
    source: request.source.cluster,
    target: request.target.cluster,
    storage,
    needs: { source: doesBackup, target: doesRestore, storage: true },
    // A route that cannot move traffic fails here, before anything is written; a router object that the
    // migration itself brings (selected in the source, landing where the route names it) is valid.
    ...(movesTraffic(request) ? {
      routes: request.routes,
      selection: { namespaces: { include: request.namespaces.include, exclude: request.namespaces.exclude }, namespaceMapping: request.namespaces.mapping },
    } : {}),
  });

  let summary;
  if (doesBackup) {
    await whileNotPaused(progress);
    enter(progress, 'backup');
    summary = await bulk.backupResources.executeWithOptions({ ...BULK, summary: `backup ${request.source.cluster} -> s3://${storage.bucket}/${storage.prefix}` }, [{
      migrationId: progress.migrationId,
      backupId,
      source: request.source.cluster,
      storage,
      ...selectionOf(request),
    }]);
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
  const preflight = await bulk.preflightRestore.executeWithOptions({ ...BULK, summary: `verify backup ${backupId}: ${summary.objects} objects` }, [{
    backupId, target: request.target.cluster, storage, findConflicts: request.existingObjects === 'fail', namespaceMapping,
    ...(request.routes.length ? { routes: request.routes.map((r) => ({ name: r.name, workloads: r.workloads })) } : {}),
    ...(movesTraffic(request) ? { routers: request.routes } : {}),
  }]);
  if (preflight.conflicts > 0) {
    throw ApplicationFailure.nonRetryable(
      `${preflight.conflicts} object(s) of backup "${backupId}" already exist in ${request.target.cluster} and existingObjects is "fail"; ` +
        `nothing was written. Remove them, or choose existingObjects "skip" or "update". Existing: ${preflight.examples.join(', ')}`,
      'Conflict',
    );
  }
  const waves = summary.waves;
  progress.waves.total = waves.length;
  const podWave = firstPodWave(waves);
  for (const wave of waves) {
    await whileNotPaused(progress);
    // The policy objects of the target namespaces are in place now: would the target admit the pods?
    if (wave.index === podWave && request.admission !== 'off' && patched(ADMISSION_PREFLIGHT)) {
      await admissionPreflight(request, backupId, progress);
    }
    const result = await bulk.restoreWave.executeWithOptions({
      ...BULK, summary: `restore wave ${wave.index + 1}/${waves.length}: ${wave.count} objects (${wave.kinds.join(', ')})`,
    }, [{
      migrationId: progress.migrationId,
      backupId,
      target: request.target.cluster,
      storage,
      wave: wave.index,
      kinds: wave.kinds,
      existingObjects: request.existingObjects,
      namespaceMapping,
      keepNodePorts: request.sanitize.keepNodePorts,
    }]);
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

  // The router objects the restore brought exist now: each route must answer before traffic moves.
  if (movesTraffic(request) && patched(ROUTES_VERIFIED_AFTER_RESTORE)) {
    await quick.verifyRoutes.executeWithOptions({ ...QUICK, summary: `check routes ${request.routes.map((r) => r.name).join(', ')} answer` }, [{ routes: request.routes }]);
  }

  enter(progress, 'readiness');
  await waitForReadiness(request, backupId, progress);
  if (!movesTraffic(request)) return;

  enter(progress, 'traffic');
  await shiftTraffic(request, backupId, progress, control);
  // All traffic is on the target; the migration stays open this long so that a rollback is one signal away.
  const observeMs = parseDuration(request.traffic.observeFor)!;
  if (observeMs > 0) await pausableSleep(progress, observeMs, `observing at 100% target for ${request.traffic.observeFor}; rollback still possible`);
}

async function waitForReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const pollMs = parseDuration(request.readiness.pollInterval)!;
  const timeoutMs = parseDuration(request.readiness.timeout)!;
  let waited = 0;
  // Traffic may start as soon as the first step can send some of it somewhere; the steps wait for the rest.
  const firstStep = request.traffic.steps[0]!.weight;
  if (patched(READINESS_WAITS_IN_ACTIVITY)) {
    const goal: ReadinessGoal = { ...ratioRule(request), routes: request.routes.map((r) => r.name), weight: firstStep, until: movesTraffic(request) ? 'first-traffic' : 'all' };
    for (;;) {
      const { report, waitedMs } = await awaitReadiness(request, backupId, progress, goal, timeoutMs - waited, 'wait for workloads to be ready');
      waited += waitedMs;
      if (goalReached(goal, report)) return;
      if (waited >= timeoutMs) throw readinessTimeout(request, report);
    }
  }
  for (;;) {
    const report = await refreshReadiness(request, backupId, progress);
    if (report.overall.ready >= report.overall.total) return;
    if (movesTraffic(request) && request.routes.some((r) => weightFor(request, firstStep, report, r.name) > 0)) return;
    if (waited >= timeoutMs) throw readinessTimeout(request, report);
    await pausableSleep(progress, pollMs, `readiness: ${report.overall.ready}/${report.overall.total} ready, next check in ${request.readiness.pollInterval}`);
    waited += pollMs;
  }
}

function readinessTimeout(request: MigrationRequest, report: ReadinessReport): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${report.overall.total - report.overall.ready} of ${report.overall.total} workloads are not ready in ` +
      `${request.target.cluster} after ${request.readiness.timeout}; traffic was not moved. Not ready: ${notReadyText(report)}`,
    'ReadinessTimeout',
  );
}

/**
 * Dry-runs every workload's pods in the target before the first workload is written. With admission
 * "enforce", a refusal fails the migration naming each workload and the target's message.
 */
async function admissionPreflight(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const mode = request.admission === 'warn' ? 'warn' : 'enforce';
  const report = await bulk.checkAdmission.executeWithOptions({ ...BULK, summary: `admission preflight: dry-run the workloads' pods in ${request.target.cluster}` }, [{
    backupId, target: request.target.cluster, storage: request.storage, namespaceMapping: request.namespaces.mapping,
  }]);
  progress.admission = { mode, ...report };
  publish(progress);
  if (report.refused === 0) return;
  const listed = report.refusals.map((r) => `${r.workload}: ${r.message}`).join('; ');
  const more = report.refused > report.refusals.length ? `; and ${report.refused - report.refusals.length} more` : '';
  if (mode === 'warn') {
    remember(progress.errors, [`admission (warn): the target cluster "${request.target.cluster}" would refuse the pods of ${report.refused} workload(s); going on: ${listed}${more}`]);
    publish(progress);
    return;
  }
  throw ApplicationFailure.nonRetryable(
    `the target cluster "${request.target.cluster}" would not admit the pods of ${report.refused} of ${report.checked} workload(s), so none was written ` +
      `(a dry run of each workload's pods, after its namespace's quotas and limits were restored): ${listed}${more}. ` +
      `Fix the target's policy or the workloads, or set admission: warn to go on anyway; ` +
      `kubeferry cleanup ${progress.migrationId} removes what the earlier waves created.`,
    'AdmissionRefused',
  );
}

/** The workloads not ready, each with its cause where the target told one. */
function notReadyText(report: ReadinessReport): string {
  const causes = report.causes ?? [];
  const explained = new Set(causes.map((c) => c.workload));
  const rest = report.notReady.filter((w) => !explained.has(w));
  return [describeCauses(causes), rest.join(', ')].filter(Boolean).join('; ');
}

// A failed migration keeps its final progress in its memo, read by status.
const FINAL_PROGRESS_MEMO = 'final-progress-memo';

// Workloads' pods are dry-run in the target before the first workload wave.
const ADMISSION_PREFLIGHT = 'admission-preflight';

// Routes are checked once more after the restore (their router objects may have come with it).
const ROUTES_VERIFIED_AFTER_RESTORE = 'routes-verified-after-restore';

const movesTraffic = (request: MigrationRequest) => request.task === 'migrate' && request.routes.length > 0;

// Readiness waits became one polling activity instead of a check and a timer per poll (history no longer
// grows with how long workloads take); histories recorded before replay the old loop.
const READINESS_WAITS_IN_ACTIVITY = 'readiness-waits-in-activity';

const readinessInput = (request: MigrationRequest, backupId: string) => ({
  backupId,
  target: request.target.cluster,
  storage: request.storage,
  routes: request.routes.map((r) => ({ name: r.name, workloads: r.workloads })),
  namespaceMapping: request.namespaces.mapping,
});

const ratioRule = (request: MigrationRequest) => ({ ratio: request.traffic.ratio, weightByReplicas: request.traffic.weightByReplicas });

/**
 * Waits (at most `maxWaitMs` of unpaused time) for the goal, in one activity; a pause cancels it and
 * it starts again on resume with what is left. Returns the last report and the unpaused time waited.
 */
async function awaitReadiness(
  request: MigrationRequest, backupId: string, progress: MigrationProgress, goal: ReadinessGoal, maxWaitMs: number, summary: string,
  interrupt?: () => boolean,
): Promise<{ report: ReadinessReport; waitedMs: number }>;
async function awaitReadiness(
  request: MigrationRequest, backupId: string, progress: MigrationProgress, goal: ReadinessGoal, maxWaitMs: number, summary: string,
  interrupt: () => boolean,
): Promise<{ report?: ReadinessReport; waitedMs: number }>;
async function awaitReadiness(
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
          ...readinessInput(request, backupId), goal, maxWaitMs: left, pollMs: parseDuration(request.readiness.pollInterval)!,
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

function applyReadiness(progress: MigrationProgress, report: ReadinessReport): void {
  const { ready, total } = report.overall;
  progress.readiness = { ...report.overall, percent: readyPercent(report.overall), ...(report.causes?.length && ready < total ? { notReady: report.causes.slice(0, 10) } : {}) };
  for (const route of progress.routes) {
    const count = report.routes[route.name];
    if (count) Object.assign(route, { ready: count.ready, total: count.total });
  }
}

async function refreshReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<ReadinessReport> {
  const report = await quick.checkReadiness(readinessInput(request, backupId));
  applyReadiness(progress, report);
  return report;
}

/** The grayscale ratio that caps a route: overall or the route's own, in workloads or replicas. */
function ratioFor(request: MigrationRequest, report: ReadinessReport, route: string): ReadinessCount {
  return ratioBy(ratioRule(request), report, route);
}

/** The weight a route may carry now: the planned step, capped by the grayscale ratio the request chose. */
function weightFor(request: MigrationRequest, planned: number, report: ReadinessReport, route: string): number {
  return allowedFor(ratioRule(request), planned, report, route);
}

async function shiftTraffic(request: MigrationRequest, backupId: string, progress: MigrationProgress, control: Control): Promise<void> {
  const steps = request.traffic.steps;
  const intervalMs = parseDuration(request.traffic.stepInterval)!;
  const pollMs = parseDuration(request.readiness.pollInterval)!;
  const holdLimitMs = parseDuration(request.readiness.timeout)!;
  const threshold = request.traffic.cutoverAfter === undefined ? undefined : parseDuration(request.traffic.cutoverAfter);
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

  steps: for (const [i, step] of steps.entries()) {
    await whileNotPaused(progress);
    if (cutoverDue()) break;
    progress.step.index = i + 1;
    if (step.approval && control.approved < i + 1) {
      progress.pendingApproval = { step: i + 1, weight: step.weight, since: new Date(Date.now()).toISOString() };
      publish(progress);
      log.info('traffic step waits for approval', { step: i + 1, weight: step.weight });
      while (control.approved < i + 1 && !cutoverDue()) {
        const approvedOrDue = () => control.approved >= i + 1 || cutoverDue();
        const wait = untilCutover();
        await (wait === undefined ? condition(approvedOrDue) : condition(approvedOrDue, wait));
      }
      progress.pendingApproval = undefined;
      if (cutoverDue()) break;
      await whileNotPaused(progress);
    }
    // A step whose weight the grayscale ratio does not allow yet holds at what it allows, re-checking
    // readiness, until it does or the readiness timeout runs out (then the migration fails and rolls back).
    if (patched(READINESS_WAITS_IN_ACTIVITY)) {
      let report = await refreshReadiness(request, backupId, progress);
      for (let held = 0; ;) {
        const current: Record<string, number> = {};
        for (const route of request.routes) {
          await applyWeight(route, weightFor(request, step.weight, report, route.name), progress, `route ${route.name}: step ${i + 1}/${steps.length}`);
          current[route.name] = routeProgress(progress, route.name).weight;
        }
        publish(progress);
        if (!request.routes.some((r) => cappedBy(ratioRule(request), step.weight, report, r.name))) break;
        if (cutoverDue()) break steps;
        if (held >= holdLimitMs) throw heldTooLong(request, i, step.weight, report);
        const goal: ReadinessGoal = { ...ratioRule(request), routes: request.routes.map((r) => r.name), weight: step.weight, until: 'step', current };
        const wait = Math.min(holdLimitMs - held, untilCutover() ?? Infinity);
        const waited = await awaitReadiness(request, backupId, progress, goal, wait, `step ${i + 1} held at the grayscale ratio (${report.overall.ready} of ${report.overall.total} ready)`, cutoverDue);
        held += waited.waitedMs;
        if (!waited.report) break steps; // promoted fully while held
        report = waited.report;
      }
    } else for (let held = 0; ; held += pollMs) {
      const report = await refreshReadiness(request, backupId, progress);
      let capped = false;
      for (const route of request.routes) {
        const weight = weightFor(request, step.weight, report, route.name);
        // Held while the ratio is below the step; a route with no ready workload at all stays at 0 without
        // holding the others (the threshold's cutover reports it).
        capped ||= readyPercent(ratioFor(request, report, route.name)) < step.weight;
        await applyWeight(route, weight, progress, `route ${route.name}: step ${i + 1}/${steps.length}`);
      }
      publish(progress);
      if (!capped) break;
      if (cutoverDue()) break steps;
      if (held >= holdLimitMs) throw heldTooLong(request, i, step.weight, report);
      await pausableSleep(progress, pollMs, `step ${i + 1} held at the grayscale ratio (${report.overall.ready}/${report.overall.total} ready)`, cutoverClock);
    }
    log.info('traffic step applied', { step: i + 1, planned: step.weight, weights: progress.routes.map((r) => `${r.name}=${r.weight}`) });
    if (i < steps.length - 1) {
      const next = steps[i + 1]!;
      progress.step.nextAt = new Date(Date.now() + intervalMs).toISOString();
      publish(progress);
      // `promote` makes the next step due now; the threshold or `promote --full` ends the steps.
      const nextDue = () => (control.promoteNext ?? 0) > i + 1;
      const stepClock: Deadline = { due: () => cutoverDue() || nextDue(), within: () => (nextDue() ? 0 : untilCutover()) };
      await pausableSleep(progress, intervalMs, `weight ${step.weight}% -> ${next.weight}% in ${formatDuration(intervalMs)}${next.approval ? ' (needs approval)' : ''}`, stepClock);
    }
  }
  progress.step.nextAt = undefined;
  if (cutoverDue()) await cutover(request, backupId, progress, control.promoteFull ? 'promote' : 'threshold');
}

function heldTooLong(request: MigrationRequest, i: number, weight: number, report: ReadinessReport): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `traffic step ${i + 1} (${weight}%) was held for ${request.readiness.timeout} because only ` +
      `${report.overall.ready} of ${report.overall.total} workloads are ready in ${request.target.cluster} ` +
      `(not ready: ${notReadyText(report)}); traffic was moved back to the source`,
    'ReadinessTimeout',
  );
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

async function applyWeight(route: MigrationRequest['routes'][number], weight: number, progress: MigrationProgress, summary: string, always = false): Promise<void> {
  const current = routeProgress(progress, route.name);
  if (weight === current.weight && !always) return;
  const applied = await quick.setRouteWeight.executeWithOptions({ ...QUICK, summary: `${summary}: ${current.weight}% -> ${weight}%` }, [{ route, weight }]);
  current.weight = applied.weight;
}

/** All routes back to the source at once; weights are set in parallel, each verified by its router. */
async function rollbackTraffic(request: MigrationRequest, progress: MigrationProgress): Promise<void> {
  progress.phase = 'rolling-back';
  progress.pendingApproval = undefined;
  publish(progress);
  // Always written, even where the weight is thought to be 0: a step cancelled in flight may have landed.
  await Promise.all(request.routes.map((route) => applyWeight(route, 0, progress, `rollback: route ${route.name} back to the source`, true)));
}

/** Deletes what this migration created in the target, after traffic is back on the source. */
async function cleanup(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const result = await bulk.cleanupRestored.executeWithOptions({ ...BULK, summary: `rollback: delete what ${progress.migrationId} created in ${request.target.cluster}` }, [{
    migrationId: progress.migrationId, runId: workflowInfo().runId, backupId, target: request.target.cluster, storage: request.storage, namespaceMapping: request.namespaces.mapping,
  }]);
  progress.cleanup = { deleted: result.deleted, failed: result.failed, ...(result.kept ? { kept: result.kept } : {}) };
  remember(progress.errors, result.errors);
}

/** Blocks while the operator has paused the migration. */
async function whileNotPaused(progress: MigrationProgress): Promise<void> {
  if (progress.paused) await condition(() => !progress.paused);
}

/** When the grayscale threshold cuts a wait short: whether it is due, and how long until it is. */
interface Deadline {
  due(): boolean;
  within(): number | undefined;
}

/**
 * Sleeps `ms` of unpaused time on a timer the Web UI shows with `summary`: a pause stops the clock,
 * resume continues with what was left; a `deadline` ends the sleep early (the grayscale threshold).
 */
async function pausableSleep(progress: MigrationProgress, ms: number, summary: string, deadline?: Deadline): Promise<void> {
  let remaining = ms;
  while (remaining > 0 && !deadline?.due()) {
    await whileNotPaused(progress);
    const started = Date.now();
    const slice = Math.max(1, Math.min(remaining, deadline?.within() ?? remaining));
    const timer = new CancellationScope();
    try {
      await timer.run(() => Promise.race([sleep(slice, { summary }), condition(() => progress.paused || Boolean(deadline?.due()))]));
    } finally {
      timer.cancel();
    }
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

/** What each execution last wrote to its search attributes (keyed by its progress: no state shared between executions). */
const published = new WeakMap<MigrationProgress, string>();
/** Shows the progress in the Web UI: current details, and the search attributes when they change. */
function publish(progress: MigrationProgress): void {
  setCurrentDetails(renderDetails(progress));
  const weight = Math.max(0, ...progress.routes.map((r) => r.weight));
  const key = `${progress.phase}|${weight}|${progress.readiness.percent}`;
  if (published.get(progress) === key) return;
  published.set(progress, key);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.phase, value: progress.phase },
    { key: SEARCH_ATTRIBUTES.trafficWeight, value: weight },
    { key: SEARCH_ATTRIBUTES.readyPercent, value: progress.readiness.percent },
  ]);
}

function routeProgress(progress: MigrationProgress, name: string) {
  return progress.routes.find((r) => r.name === name)!;
}

function isFinal(phase: MigrationPhase): boolean {
  return phase === 'completed' || phase === 'rolled-back' || phase === 'failed';
}

/** Update validators: a problem rejects the update with that message. */
function refuse(problem: string | undefined): void {
  if (problem) throw new Error(problem);
}

function pauseProblem(p: MigrationProgress): string | undefined {
  if (isFinal(p.phase) || p.rollbackRequested) return `nothing to pause: the migration is ${p.rollbackRequested ? 'rolling back' : p.phase}`;
  if (p.paused) return 'already paused';
  return undefined;
}

function approveProblem(p: MigrationProgress, o: ApproveOptions | undefined): string | undefined {
  if (!p.pendingApproval) return `no step is waiting for approval (phase ${p.phase}, step ${p.step.index}/${p.step.total})`;
  if (o?.step !== undefined && o.step !== p.pendingApproval.step) return `step ${p.pendingApproval.step} (${p.pendingApproval.weight}%) is waiting for approval, not step ${o.step}`;
  return undefined;
}

/** Routes that have workloads, none of them ready in the target: promoting them would send traffic to nothing. */
function routesWithoutReady(p: MigrationProgress): string[] {
  return p.routes.filter((r) => r.total > 0 && r.ready === 0).map((r) => `${r.name} (0 of ${r.total} ready)`);
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

function rollbackProblem(p: MigrationProgress): string | undefined {
  if (p.rollbackRequested) return 'a rollback is already under way';
  if (isFinal(p.phase)) {
    return `the migration has already ${p.phase === 'completed' ? 'completed' : p.phase}; kubeferry cleanup ${p.migrationId} removes what it created, or start a new one to move back`;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}
