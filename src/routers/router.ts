// A traffic router moves a share of one entrypoint's requests from the source backend to the target.
// One file per router kind; each verifies what it set by reading it back.
import { FAILURE } from '../domain/failures.js';

export interface TrafficRouter {
  /** Sends `percent` of requests to the target and the rest to the source; returns the weight read back. */
  setWeight(percent: number): Promise<number>;
  /** The percent of requests the target gets now. */
  getWeight(): Promise<number>;
  /** Why the weight may differ from the one last set, where the router can tell (HAProxy: reloaded). */
  driftCause?(): Promise<string | undefined>;
}

/** Where a router keeps its state when that state is a Kubernetes object (an HTTPRoute, a canary Ingress). */
export interface RouterObjectRef {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * A router whose state is one Kubernetes object. Such an object may come with the migration itself (it is
 * in the selection and lands in the target), so it can also be judged from a copy, before it exists.
 */
export interface ObjectRouter extends TrafficRouter {
  readonly object: RouterObjectRef;
  /** The target's share this object gives; a RouterError says why it cannot route (no such backends, not a canary). */
  weightOf(obj: unknown): number;
}

export const isObjectRouter = (router: TrafficRouter): router is ObjectRouter => 'weightOf' in router && 'object' in router;

/** "HTTPRoute shop/web", for people. */
export const describeRouterObject = (o: Pick<RouterObjectRef, 'kind' | 'namespace' | 'name'>) => `${o.kind} ${o.namespace}/${o.name}`;

export class RouterError extends Error {
  override name: string = FAILURE.RouterError;
}

/** The router's object (HTTPRoute, canary Ingress) is not in its cluster. */
export class RouterObjectMissing extends RouterError {
  override name: string = FAILURE.RouterObjectMissing;
}

/** The router could not be reached (its admin endpoint refused or did not answer): worth retrying. */
export class RouterUnavailable extends Error {
  override name: string = FAILURE.RouterUnavailable;
}

/** What a router read back differs from what it set: worth retrying (someone else may have written meanwhile). */
export class ReadBackMismatch extends Error {
  override name: string = FAILURE.ReadBackMismatch;
}
