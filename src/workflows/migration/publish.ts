// What the Temporal Web UI shows of a running migration: its current details (a markdown progress table,
// details.ts), its search attributes (the request's names once, then phase, weight and readiness as they
// change) and, for a failed one, its final progress in the memo. Activity and timer summaries are written
// where those are scheduled.
import { log, setCurrentDetails, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { MigrationRequest } from '../../domain/request.js';
import { renderDetails } from '../details.js';
import { FINAL_PROGRESS, type MigrationPhase, type MigrationProgress } from '../messages.js';
import { SEARCH_ATTRIBUTES } from '../search-attributes.js';

/** The search attributes a migration is found by: its id, task and clusters. */
export function publishRequest(migrationId: string, request: MigrationRequest): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.migrationId, value: migrationId },
    { key: SEARCH_ATTRIBUTES.task, value: request.task },
    { key: SEARCH_ATTRIBUTES.sourceCluster, value: request.source.cluster },
    { key: SEARCH_ATTRIBUTES.targetCluster, value: request.target.cluster },
  ]);
}

/** What each execution last wrote to its search attributes (keyed by its progress: no state shared between executions). */
const published = new WeakMap<MigrationProgress, string>();
/** Shows the progress in the Web UI: current details, and the search attributes when they change. */
export function publish(progress: MigrationProgress): void {
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

export function enter(progress: MigrationProgress, phase: MigrationPhase): void {
  progress.phase = phase;
  log.info('migration phase', { phase });
  publish(progress);
}

/**
 * The final progress stays with the execution (its memo), so that status can show a failed migration
 * whole; the failure itself is thrown as it is.
 */
export function keepFinalProgress(progress: MigrationProgress): void {
  upsertMemo({ [FINAL_PROGRESS]: progress });
}
