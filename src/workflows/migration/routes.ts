// Route weights: each set through its router, which reads it back; progress keeps what was applied.
import type { MigrationRequest, RouteSpec } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { QUICK, quick } from './activities.js';
import { publish } from './publish.js';
import { routeProgress } from './state.js';

export async function applyWeight(route: RouteSpec, weight: number, progress: MigrationProgress, summary: string, always = false): Promise<void> {
  const current = routeProgress(progress, route.name);
  if (weight === current.weight && !always) return;
  const applied = await quick.setRouteWeight.executeWithOptions({ ...QUICK, summary: `${summary}: ${current.weight}% -> ${weight}%` }, [{ route, weight }]);
  current.weight = applied.weight;
}

/** A route a rollback could not send back to the source, and why. */
export interface StuckRoute {
  name: string;
  error: string;
}

/**
 * All routes back to the source at once; weights are set in parallel, each verified by its router. One
 * router failing for good never keeps the others from going back: every route is tried to the end, and
 * the ones that stay are returned (with `settlesEveryRoute`, patch `rollback-settles-every-route`; before it, the first failure
 * was thrown while the others were still on their way).
 */
export async function rollbackTraffic(request: MigrationRequest, progress: MigrationProgress, settlesEveryRoute: () => boolean): Promise<StuckRoute[]> {
  progress.phase = 'rolling-back';
  progress.pendingApproval = undefined;
  publish(progress);
  // Always written, even where the weight is thought to be 0: a step cancelled in flight may have landed.
  const back = request.routes.map((route) => applyWeight(route, 0, progress, `rollback: route ${route.name} back to the source`, true));
  if (!settlesEveryRoute()) {
    await Promise.all(back);
    return [];
  }
  const outcomes = await Promise.allSettled(back);
  return outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ name: request.routes[i]!.name, error: errorText(o.reason) }] : []));
}

const errorText = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));
