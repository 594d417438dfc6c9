// The phases that read the source: the connectivity check, the backup (or, for a restore, the summary of
// the backup it reads), and the dry run of a `plan` task.
import type { BackupSummary, PlanReport } from '../../activities/contract.js';
import type { MigrationRequest } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { BULK, bulk, quick } from './activities.js';
import { bulkOptions } from './legacy.js';
import { enter, publish } from './publish.js';
import { movesTraffic } from './state.js';
import { whileNotPaused } from './timers.js';

/** Every cluster, the bucket and each route the task needs answer before anything is written. */
export async function checkConnectivity(request: MigrationRequest, progress: MigrationProgress): Promise<void> {
  enter(progress, 'connectivity');
  await quick.checkConnectivity({
    source: request.source.cluster,
    target: request.target.cluster,
    storage: request.storage,
    needs: { source: request.task !== 'restore', target: request.task !== 'backup', storage: true },
    ...(request.task !== 'backup' ? { existingObjects: request.existingObjects } : {}),
    // A route that cannot move traffic fails here, before anything is written; a router object that the
    // migration itself brings (selected in the source, landing where the route names it) is valid.
    ...(movesTraffic(request) ? {
      routes: request.routes,
      selection: {
        namespaces: { include: request.namespaces.include, exclude: request.namespaces.exclude }, namespaceMapping: request.namespaces.mapping,
        ...(request.allowSystemNamespaces ? { allowSystemNamespaces: true } : {}),
      },
    } : {}),
  });
}

/** The backup of what the request selects; a restore task reads the summary of the backup it names instead. */
export async function backUp(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<BackupSummary> {
  const storage = request.storage;
  let summary;
  if (request.task !== 'restore') {
    await whileNotPaused(progress);
    enter(progress, 'backup');
    summary = await bulk.backupResources.executeWithOptions({ ...bulkOptions(), summary: `backup ${request.source.cluster} -> s3://${storage.bucket}/${storage.prefix}` }, [{
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
  return summary;
}

/** The dry run: what a migration would copy, in which waves, and what it would meet in the target. */
export async function planOnly(request: MigrationRequest, progress: MigrationProgress): Promise<PlanReport> {
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
export function selectionOf(request: MigrationRequest) {
  return {
    namespaces: { include: request.namespaces.include, exclude: request.namespaces.exclude },
    resources: { include: request.resources.include, exclude: request.resources.exclude },
    clusterResources: request.clusterResources,
    ...(request.allowSystemNamespaces ? { allowSystemNamespaces: true } : {}),
    ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
  };
}
