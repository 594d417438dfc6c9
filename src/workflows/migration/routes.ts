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

/** All routes back to the source at once; weights are set in parallel, each verified by its router. */
export async function rollbackTraffic(request: MigrationRequest, progress: MigrationProgress): Promise<void> {
  progress.phase = 'rolling-back';
  progress.pendingApproval = undefined;
  publish(progress);
  // Always written, even where the weight is thought to be 0: a step cancelled in flight may have landed.
  await Promise.all(request.routes.map((route) => applyWeight(route, 0, progress, `rollback: route ${route.name} back to the source`, true)));
}
