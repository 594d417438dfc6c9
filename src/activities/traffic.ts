// Traffic: set a route's weight through the router its spec names.
import { ApplicationFailure } from '@temporalio/activity';
import type { WorkerConfig } from '../config/worker-config.js';
import { HaproxyRouter } from '../routers/haproxy.js';
import type { TrafficRouter } from '../routers/router.js';
import type { SetWeightInput, SetWeightResult } from './contract.js';

export function routerFor(config: WorkerConfig['routers'], route: SetWeightInput['route']): TrafficRouter {
  switch (route.router) {
    case 'haproxy': {
      const h = config.haproxy;
      if (!h?.adminSocket && !h?.adminAddress) {
        throw ApplicationFailure.nonRetryable(`route "${route.name}" uses HAProxy, but the worker config has no routers.haproxy.adminSocket`, 'RouterNotConfigured');
      }
      return new HaproxyRouter({ socket: h.adminSocket, address: h.adminAddress }, route);
    }
  }
}

export async function setRouteWeight(routers: WorkerConfig['routers'], input: SetWeightInput): Promise<SetWeightResult> {
  const weight = await routerFor(routers, input.route).setWeight(input.weight);
  return { route: input.route.name, weight };
}
