// Traffic weight planning: which weight a route may carry to the target right now.
import { readyPercent, type ReadinessCount } from './progress.js';

/**
 * The weight (percent to the target) allowed for the next step: the planned step, capped by the
 * grayscale ratio, and zero for a route none of whose workloads is ready in the target, so a backend
 * with nothing behind it never receives requests.
 */
export function allowedWeight(plannedStep: number, overall: ReadinessCount, route: ReadinessCount): number {
  if (route.total > 0 && route.ready === 0) return 0;
  return Math.max(0, Math.min(plannedStep, readyPercent(overall), 100));
}

/** HAProxy server weights for a split: the target gets `percent`, the source the rest. */
export function serverWeights(percent: number): { source: number; target: number } {
  const target = Math.max(0, Math.min(100, Math.round(percent)));
  return { source: 100 - target, target };
}
