// The phases that write the target: the restore in waves (after a preflight that verifies every archive,
// and an admission dry run before the first workloads), the route check after it, and a rollback's
// cleanup of what the migration created.
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { BackupSummary } from '../../activities/contract.js';
import { firstPodWave } from '../../domain/pod-templates.js';
import type { MigrationRequest } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { BULK, QUICK, bulk, quick } from './activities.js';
import { selectionOf } from './backup.js';
import { bulkOptions, runsAdmissionPreflight, verifiesRoutesAfterRestore } from './legacy.js';
import { enter, publish } from './publish.js';
import { movesTraffic, remember } from './state.js';
import { whileNotPaused } from './timers.js';
import { FAILURE } from '../../domain/failures.js';

export async function restore(request: MigrationRequest, backupId: string, summary: BackupSummary, progress: MigrationProgress): Promise<void> {
  const storage = request.storage;
  enter(progress, 'restore');
  // Nothing is written before every archive is verified (and, for "fail", every conflict is known).
  const namespaceMapping = request.namespaces.mapping;
  const preflight = await bulk.preflightRestore.executeWithOptions({ ...bulkOptions(), summary: `verify backup ${backupId}: ${summary.objects} objects` }, [{
    backupId, target: request.target.cluster, storage, findConflicts: request.existingObjects === 'fail', namespaceMapping,
    ...(request.task === 'restore' ? { selection: selectionOf(request) } : {}),
    existingObjects: request.existingObjects,
    ...(request.routes.length ? { routes: request.routes.map((r) => ({ name: r.name, workloads: r.workloads })) } : {}),
    ...(movesTraffic(request) ? { routers: request.routes } : {}),
  }]);
  if (preflight.conflicts > 0) {
    throw ApplicationFailure.nonRetryable(
      `${preflight.conflicts} object(s) of backup "${backupId}" already exist in ${request.target.cluster} and existingObjects is "fail"; ` +
        `nothing was written. Remove them, or choose existingObjects "skip" or "update". Existing: ${preflight.examples.join(', ')}`,
      FAILURE.Conflict,
    );
  }
  const waves = summary.waves;
  progress.waves.total = waves.length;
  const podWave = firstPodWave(waves);
  for (const wave of waves) {
    await whileNotPaused(progress);
    // The policy objects of the target namespaces are in place now: would the target admit the pods?
    if (wave.index === podWave && request.admission !== 'off' && runsAdmissionPreflight()) {
      await admissionPreflight(request, backupId, progress);
    }
    const result = await bulk.restoreWave.executeWithOptions({
      ...bulkOptions(), summary: `restore wave ${wave.index + 1}/${waves.length}: ${wave.count} objects (${wave.kinds.join(', ')})`,
    }, [{
      migrationId: progress.migrationId,
      backupId,
      target: request.target.cluster,
      storage,
      wave: wave.index,
      kinds: wave.kinds,
      existingObjects: request.existingObjects,
      ...(request.forceConflicts ? { forceConflicts: true } : {}),
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
      FAILURE.RestoreFailed,
    );
  }
}

/**
 * Dry-runs every workload's pods in the target before the first workload is written. With admission
 * "enforce", a refusal fails the migration naming each workload and the target's message.
 */
async function admissionPreflight(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const mode = request.admission === 'warn' ? 'warn' : 'enforce';
  const report = await bulk.checkAdmission.executeWithOptions({ ...bulkOptions(), summary: `admission preflight: dry-run the workloads' pods in ${request.target.cluster}` }, [{
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
    FAILURE.AdmissionRefused,
  );
}

/** The router objects the restore brought exist now: each route must answer before traffic moves. */
export async function verifyRoutes(request: MigrationRequest): Promise<void> {
  if (movesTraffic(request) && verifiesRoutesAfterRestore()) {
    await quick.verifyRoutes.executeWithOptions({ ...QUICK, summary: `check routes ${request.routes.map((r) => r.name).join(', ')} answer` }, [{ routes: request.routes }]);
  }
}

/** Deletes what this migration created in the target, after traffic is back on the source. */
export async function cleanupTarget(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<void> {
  const result = await bulk.cleanupRestored.executeWithOptions({ ...BULK, summary: `rollback: delete what ${progress.migrationId} created in ${request.target.cluster}` }, [{
    migrationId: progress.migrationId, runId: workflowInfo().runId, backupId, target: request.target.cluster, storage: request.storage, namespaceMapping: request.namespaces.mapping,
  }]);
  progress.cleanup = { deleted: result.deleted, failed: result.failed, ...(result.kept ? { kept: result.kept } : {}) };
  remember(progress.errors, result.errors);
}
