// When a wait for readiness is over. The workflow decides with these rules after each report, and the
// activity that polls the target uses the same rules to know when to report back: the wait is one
// activity however long the workloads take, so the history does not grow with the number of objects.
import { readyPercent, type ReadinessCount } from './progress.js';
import { allowedWeight } from './weights.js';

export interface ReadinessCounts {
  overall: ReadinessCount;
  routes: Record<string, ReadinessCount>;
}

/** What caps a route's weight (the request's traffic.ratio and traffic.weightByReplicas). */
export interface RatioRule {
  ratio: 'overall' | 'route';
  weightByReplicas: boolean;
}

/** A held traffic step climbs in rises of at least this many points, so its history stays short. */
export const HELD_STEP_RISE = 5;

export type ReadinessGoal = RatioRule & {
  routes: readonly string[];
  /** The planned weight of the step. */
  weight: number;
} & (
  /** Every workload ready. */
  | { until: 'all' }
  /** Some route may carry traffic at `weight` (the first step can start). */
  | { until: 'first-traffic' }
  /** Every route may carry all of `weight`; or one may carry HELD_STEP_RISE more than it does now. */
  | { until: 'step'; current: Record<string, number> }
);

/** The grayscale ratio that caps a route: overall or the route's own, in workloads or replicas. */
export function ratioFor(rule: RatioRule, report: ReadinessCounts, route: string): ReadinessCount {
  const own = report.routes[route] ?? { ready: 0, total: 0 };
  const cap = rule.ratio === 'route' ? own : report.overall;
  return rule.weightByReplicas && cap.replicas ? cap.replicas : cap;
}

/** The weight a route may carry now: the planned step, capped by the grayscale ratio. */
export function weightFor(rule: RatioRule, planned: number, report: ReadinessCounts, route: string): number {
  return allowedWeight(planned, ratioFor(rule, report, route), report.routes[route] ?? { ready: 0, total: 0 });
}

/** Whether the ratio holds a route below the planned weight. */
export function capped(rule: RatioRule, planned: number, report: ReadinessCounts, route: string): boolean {
  return readyPercent(ratioFor(rule, report, route)) < planned;
}

export function goalReached(goal: ReadinessGoal, report: ReadinessCounts): boolean {
  if (report.overall.ready >= report.overall.total) return true;
  switch (goal.until) {
    case 'all':
      return false;
    case 'first-traffic':
      return goal.routes.some((r) => weightFor(goal, goal.weight, report, r) > 0);
    case 'step':
      return goal.routes.every((r) => !capped(goal, goal.weight, report, r)) ||
        goal.routes.some((r) => {
          const now = goal.current[r] ?? 0;
          const allowed = weightFor(goal, goal.weight, report, r);
          return allowed >= Math.min(goal.weight, now + HELD_STEP_RISE) && allowed > now;
        });
  }
}
