// One check of the target's readiness and what a report means: the counts in progress, the rule that caps
// a route's weight, and the failures when workloads take too long.
import { ApplicationFailure } from '@temporalio/workflow';
import type { ReadinessReport } from '../../activities/contract.js';
import { readyPercent } from '../../domain/progress.js';
import { describeCauses } from '../../domain/readiness-causes.js';
import type { RatioRule } from '../../domain/readiness-goal.js';
import type { MigrationRequest } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { quick } from './activities.js';
import { FAILURE } from '../../domain/failures.js';

/** Which workloads a readiness activity looks at, and where. */
export const readinessInput = (request: MigrationRequest, backupId: string) => ({
  backupId,
  target: request.target.cluster,
  storage: request.storage,
  routes: request.routes.map((r) => ({ name: r.name, workloads: r.workloads })),
  namespaceMapping: request.namespaces.mapping,
});

/** The grayscale ratio the request chose: overall or the route's own, in workloads or replicas. */
export const ratioRule = (request: MigrationRequest): RatioRule => ({ ratio: request.traffic.ratio, weightByReplicas: request.traffic.weightByReplicas });

export function applyReadiness(progress: MigrationProgress, report: ReadinessReport): void {
  const { ready, total } = report.overall;
  progress.readiness = { ...report.overall, percent: readyPercent(report.overall), ...(report.causes?.length && ready < total ? { notReady: report.causes.slice(0, 10) } : {}) };
  for (const route of progress.routes) {
    const count = report.routes[route.name];
    if (count) Object.assign(route, { ready: count.ready, total: count.total });
  }
}

export async function refreshReadiness(request: MigrationRequest, backupId: string, progress: MigrationProgress): Promise<ReadinessReport> {
  const report = await quick.checkReadiness(readinessInput(request, backupId));
  applyReadiness(progress, report);
  return report;
}

export function readinessTimeout(request: MigrationRequest, report: ReadinessReport): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${report.overall.total - report.overall.ready} of ${report.overall.total} workloads are not ready in ` +
      `${request.target.cluster} after ${request.readiness.timeout}; traffic was not moved. Not ready: ${notReadyText(report)}`,
    FAILURE.ReadinessTimeout,
  );
}

export function heldTooLong(request: MigrationRequest, i: number, weight: number, report: ReadinessReport): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `traffic step ${i + 1} (${weight}%) was held for ${request.readiness.timeout} because only ` +
      `${report.overall.ready} of ${report.overall.total} workloads are ready in ${request.target.cluster} ` +
      `(not ready: ${notReadyText(report)}); traffic was moved back to the source`,
    FAILURE.ReadinessTimeout,
  );
}

/** The workloads not ready, each with its cause where the target told one. */
function notReadyText(report: ReadinessReport): string {
  const causes = report.causes ?? [];
  const explained = new Set(causes.map((c) => c.workload));
  const rest = report.notReady.filter((w) => !explained.has(w));
  return [describeCauses(causes), rest.join(', ')].filter(Boolean).join('; ');
}
