// Cleanup of an ended migration (failed, completed, or rolled back without cleanup): every route back to
// the source first, as a rollback does, then what that migration created in the target is deleted with a
// rollback's rules (objects that existed before, and objects of another run of the id, are kept). Started
// by `kubeferry cleanup <id>` / cleanupMigration(); idempotent, so running it again is harmless.
import { ApplicationFailure, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { CleanupResult, MigrationActivities, StorageRef } from '../activities/contract.js';
import type { NamespaceMapping } from '../domain/namespace-mapping.js';
import type { RouteSpec } from '../domain/request.js';
import { cleanupWorkflowId } from './messages.js';
import { FAILURE } from '../domain/failures.js';

/**
 * Names and keys only: which migration, where its backup is, which routes it moved. Every run of the
 * migration id is cleaned up: the id names the migration (a run started again behind the client's back
 * creates nothing, since it refuses the earlier run's backup).
 */
export interface CleanupRequest {
  migrationId: string;
  backupId: string;
  target: string;
  storage: StorageRef;
  namespaceMapping: NamespaceMapping;
  /** The routes the migration moved: all set back to the source before anything is deleted. */
  routes: RouteSpec[];
}

export interface CleanupReport extends CleanupResult {
  migrationId: string;
  /** Each route's weight to the target after the cleanup moved it back (0). */
  routes: { name: string; weight: number }[];
  finishedAt: string;
}

const nonRetryableErrorTypes = [FAILURE.UnknownCluster, FAILURE.AccessDenied, FAILURE.CorruptBackup, FAILURE.UnsupportedBackupVersion, FAILURE.RouterNotConfigured, FAILURE.RouterMisconfigured];
const { setRouteWeight } = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes },
});
const { cleanupRestored } = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '30m', heartbeatTimeout: '1m', scheduleToCloseTimeout: '6h',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes },
});

export async function cleanupMigration(request: CleanupRequest): Promise<CleanupReport> {
  if (workflowInfo().workflowId !== cleanupWorkflowId(request.migrationId)) {
    throw ApplicationFailure.nonRetryable(`a cleanup of ${request.migrationId} runs as workflow ${cleanupWorkflowId(request.migrationId)}`, FAILURE.InvalidRequest);
  }
  setCurrentDetails(`**cleanup** of ${request.migrationId}: routes back to the source`);
  // Traffic first: nothing may be sent to objects about to be deleted.
  const routes = await Promise.all(request.routes.map(async (route) => {
    const applied = await setRouteWeight({ route, weight: 0 });
    return { name: route.name, weight: applied.weight };
  }));
  setCurrentDetails(`**cleanup** of ${request.migrationId}: deleting what it created in ${request.target}`);
  const result = await cleanupRestored({
    migrationId: request.migrationId, backupId: request.backupId, target: request.target,
    storage: request.storage, namespaceMapping: request.namespaceMapping,
  });
  setCurrentDetails(`**cleanup** of ${request.migrationId}: ${result.deleted} deleted, ${result.kept ?? 0} kept, ${result.failed} failed`);
  if (result.failed > 0) {
    throw ApplicationFailure.nonRetryable(
      `${result.failed} object(s) of ${request.migrationId} could not be deleted from ${request.target} (${result.deleted} were): ${result.errors.slice(0, 5).join('; ')}. ` +
        'Fix what the errors say and run the cleanup again.',
      'CleanupIncomplete', { result },
    );
  }
  return { ...result, migrationId: request.migrationId, routes, finishedAt: new Date(Date.now()).toISOString() };
}
