// Traffic: set a route's weight through the router its spec names.
import { ApplicationFailure } from '@temporalio/activity';
import type { WorkerConfig } from '../config/worker-config.js';
import { GatewayApiRouter } from '../routers/gateway-api.js';
import { HaproxyRouter } from '../routers/haproxy.js';
import { IngressNginxRouter } from '../routers/ingress-nginx.js';
import { RouterError, type TrafficRouter } from '../routers/router.js';
import type { ClusterRegistry } from '../kube/clusters.js';
import type { SetWeightInput, SetWeightResult } from './contract.js';
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
