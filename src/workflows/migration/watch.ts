// While traffic is split and the migration waits (a step interval, a step held at the grayscale ratio, an
// approval gate, a pause, the observation at 100 %), one watchRouteWeights activity at a time reads every
// route's weight. A route found elsewhere than it was last set (an HAProxy reload sets runtime weights
// back to the configuration's; a GitOps sync may revert an HTTPRoute) is told in the progress and set
// again. The activity only reads and the workflow is the one writer, waiting for a weight being set
// again before it goes on, so a watch never writes over a newer step or a rollback.
//
// At the end of a wait the watch is abandoned, not cancelled: it ends itself at its next poll once the
// next step has changed a weight (it returns what it found, which nobody reads any more), when the
// migration has ended (its heartbeat is refused), or after its period. A cancel would cost the same
// events, and Temporal's time-skipping test server fails the workflow task when that cancel crosses the
// watch's completion (ACTIVITY_UNKNOWN), which the workflow tests would hit.
import { ActivityCancellationType, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { WatchRoutesResult } from '../../activities/contract.js';
import type { MigrationRequest } from '../../domain/request.js';
import type { MigrationProgress } from '../messages.js';
import { WAIT, waiting } from './activities.js';
import { watchesRoutesWhileWaiting } from './legacy.js';
import { publish } from './publish.js';
import { applyWeight } from './routes.js';
import { remember, routeProgress } from './state.js';

/** One watch activity runs this long at most; then the next takes over (a handful of events per period). */
export const WATCH_PERIOD_MS = 10 * 60_000;
/** How often the watch reads the routes: how long a reset weight stays reset, at most, plus the time to set it again. */
export const WATCH_POLL_MS = 2_000;

/**
 * Runs `wait` while the routes are watched; returns what `wait` returns. A weight that cannot be set
 * again fails the wait with that failure (the migration then sends traffic back to the source).
 * Behind patch `route-weights-watched` (legacy.ts).
 */
export async function watchingRoutes<T>(request: MigrationRequest, progress: MigrationProgress, wait: () => Promise<T>): Promise<T> {
  if (request.routes.length === 0 || !watchesRoutesWhileWaiting()) return wait();
  const held = new CancellationScope();
  const watch = new CancellationScope();
  let failed: unknown;
  const watching = watch.run(() => watchRoutes(request, progress)).catch((err: unknown) => {
    if (isCancellation(err)) return;
    failed = err;
    held.cancel();
  });
  try {
    return await held.run(wait);
  } catch (err) {
    throw failed ?? err;
  } finally {
    watch.cancel();
    // A weight being set again finishes first: nothing of the watch writes once the wait is over.
    await watching;
  }
}

async function watchRoutes(request: MigrationRequest, progress: MigrationProgress): Promise<never> {
  for (;;) {
    const expected = Object.fromEntries(progress.routes.map((r) => [r.name, r.weight]));
    const started = Date.now();
    const result = await waiting.watchRouteWeights.executeWithOptions({
      ...WAIT, startToCloseTimeout: WATCH_PERIOD_MS + 120_000, cancellationType: ActivityCancellationType.ABANDON,
      summary: `watching route weights: ${progress.routes.map((r) => `${r.name} ${r.weight}%`).join(', ')}`,
    }, [{ routes: request.routes, expected, maxWatchMs: WATCH_PERIOD_MS, pollMs: WATCH_POLL_MS }]);
    if (result.drifted.length || result.unreadable.length) {
      await CancellationScope.nonCancellable(() => setAgain(request, progress, result));
      continue;
    }
    // A watch that ended early with nothing found waits out its period: never a tight loop of activities.
    const left = WATCH_PERIOD_MS - (Date.now() - started);
    if (left > 0) await sleep(left);
  }
}

async function setAgain(request: MigrationRequest, progress: MigrationProgress, result: WatchRoutesResult): Promise<void> {
  const found = [
    ...result.drifted.map((d) => ({
      route: d.route,
      why: `found at ${d.found}% to the target where ${d.expected}% was set${d.cause ? ` (${d.cause})` : ''}`,
      summary: `found at ${d.found}%`,
    })),
    ...result.unreadable.map((u) => ({ route: u.route, why: `its weight could not be read for a while (${u.error})`, summary: 'unreadable' })),
  ];
  for (const f of found) {
    const route = request.routes.find((r) => r.name === f.route);
    if (!route) continue;
    const own = routeProgress(progress, f.route);
    // Told before the weight is set again: if that fails, the failure that ends the migration follows it.
    remember(progress.errors, [`route ${f.route}: ${f.why}; setting it to ${own.weight}% again`]);
    publish(progress);
    await applyWeight(route, own.weight, progress, `route ${f.route}: ${f.summary}, set again`, true);
    own.resets = (own.resets ?? 0) + 1;
    publish(progress);
  }
}
