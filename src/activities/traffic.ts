// Traffic: set a route's weight through the router its spec names, and watch that it stays there.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WorkerConfig } from '../config/worker-config.js';
import { GatewayApiRouter } from '../routers/gateway-api.js';
import { HaproxyRouter } from '../routers/haproxy.js';
import { IngressNginxRouter } from '../routers/ingress-nginx.js';
import { RouterError, type TrafficRouter } from '../routers/router.js';
import type { ClusterRegistry } from '../kube/clusters.js';
import type { RouteDrift, RouteUnreadable, SetWeightInput, SetWeightResult, WatchRoutesInput, WatchRoutesResult } from './contract.js';
import { FAILURE } from '../domain/failures.js';

export function routerFor(config: WorkerConfig['routers'], clusters: ClusterRegistry, route: SetWeightInput['route']): TrafficRouter {
  switch (route.router) {
    case 'haproxy': {
      const h = config.haproxy;
      if (!h?.adminSocket && !h?.adminAddress) {
        throw ApplicationFailure.nonRetryable(`route "${route.name}" uses HAProxy, but the worker config has no routers.haproxy.adminSocket`, FAILURE.RouterNotConfigured);
      }
      return new HaproxyRouter({ socket: h.adminSocket, address: h.adminAddress }, route);
    }
    case 'gateway-api':
      return new GatewayApiRouter(clusters.get(route.cluster).rest, route);
    case 'ingress-nginx':
      return new IngressNginxRouter(clusters.get(route.cluster).rest, route);
  }
}

export async function setRouteWeight(routers: WorkerConfig['routers'], clusters: ClusterRegistry, input: SetWeightInput): Promise<SetWeightResult> {
  try {
    const weight = await routerFor(routers, clusters, input.route).setWeight(input.weight);
    return { route: input.route.name, weight };
  } catch (err) {
    // A router object that is missing or malformed will not fix itself: say so once, without retries.
    if (err instanceof RouterError) throw ApplicationFailure.nonRetryable(`route "${input.route.name}": ${err.message}`, FAILURE.RouterMisconfigured);
    throw err;
  }
}

/**
 * A route unreadable for this long is reported: a router reloading answers nothing for a moment (the
 * HAProxy admin socket is re-created), and what it says after that is what counts.
 */
export const UNREADABLE_REPORT_MS = 30_000;

/**
 * Reads every route's weight each `pollMs` and returns as soon as one differs from what was last set
 * (an HAProxy reload resets runtime weights; a GitOps sync may revert an HTTPRoute), or one has been
 * unreadable for UNREADABLE_REPORT_MS, or after `maxWatchMs` with nothing found. It only reads: the
 * workflow sets the weight again, so no stale watch can ever write over a newer step. Each poll is a
 * heartbeat (the check count and the routes unreadable now): a lost worker is noticed within the
 * heartbeat timeout, and once the migration has ended the heartbeat is refused, which stops a watch the
 * workflow abandoned at the end of its wait.
 */
export async function watchRouteWeights(routers: WorkerConfig['routers'], clusters: ClusterRegistry, input: WatchRoutesInput): Promise<WatchRoutesResult> {
  const ctx = Context.current();
  const watched = input.routes.filter((r) => input.expected[r.name] !== undefined).map((route) => ({ route, router: routerFor(routers, clusters, route) }));
  const started = Date.now();
  const unreadableSince = new Map<string, { since: number; error: string }>();
  for (let checks = 1; ; checks++) {
    const drifted: RouteDrift[] = [];
    for (const { route, router } of watched) {
      const expected = input.expected[route.name]!;
      try {
        const found = await router.getWeight();
        unreadableSince.delete(route.name);
        if (found === expected) continue;
        const cause = await router.driftCause?.().catch(() => undefined);
        drifted.push({ route: route.name, expected, found, ...(cause ? { cause } : {}) });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        unreadableSince.set(route.name, { since: unreadableSince.get(route.name)?.since ?? Date.now(), error });
      }
    }
    const unreadable: RouteUnreadable[] = [...unreadableSince]
      .filter(([, u]) => Date.now() - u.since >= UNREADABLE_REPORT_MS)
      .map(([route, u]) => ({ route, error: u.error }));
    ctx.heartbeat({ checks, unreadable: [...unreadableSince.keys()] });
    if (drifted.length || unreadable.length || Date.now() - started >= input.maxWatchMs) return { drifted, unreadable, checks };
    await ctx.sleep(Math.min(input.pollMs, Math.max(1, input.maxWatchMs - (Date.now() - started))));
  }
}
