// Route checks: every route must be able to move traffic before anything is written, and again after
// the restore, before the first step. A router object (an HTTPRoute, a canary Ingress) that the migration
// itself brings into the target is valid even though it is not there yet: connectivity sees that the
// source has it in a selected namespace, the restore preflight judges the backup's copy as it will land,
// and after the restore it must exist in the target and answer.
import { ApplicationFailure } from '@temporalio/activity';
import type { WorkerConfig } from '../config/worker-config.js';
import type { NamespaceMapping } from '../domain/namespace-mapping.js';
import { selectNamespaces, type RouteSpec } from '../domain/request.js';
import { describeRouterObject, isObjectRouter, RouterError, RouterObjectMissing, type ObjectRouter, type TrafficRouter } from '../routers/router.js';
import type { RawObject, TypeEntry } from '../store/backup-format.js';
import type { ClusterRegistry } from '../kube/clusters.js';
import type { RouteCheckReport } from './contract.js';
import { KubeApiError, resourcePath } from '../kube/rest.js';
import { routerFor } from './traffic.js';
import { apiStatus } from '../kube/errors.js';
import { FAILURE } from '../domain/failures.js';

/** What the migration brings into the target, as far as it is known before the backup. */
export interface RouteSelection {
  source: string;
  target: string;
  namespaces: { include: string[]; exclude: string[] };
  namespaceMapping: NamespaceMapping;
}

/** The source namespace whose objects land in `targetNamespace`, if any. */
export function sourceNamespaceOf(mapping: NamespaceMapping, targetNamespace: string): string | undefined {
  const mapped = Object.entries(mapping).find(([, to]) => to === targetNamespace);
  if (mapped) return mapped[0];
  // Mapped away: nothing of that name lands there.
  return mapping[targetNamespace] === undefined ? targetNamespace : undefined;
}

/** A router error as a route problem; a 403 is the worker's access, not the route's shape. */
function routeProblem(route: RouteSpec, err: unknown): string {
  if (err instanceof RouterError) return `route "${route.name}": ${err.message}`;
  if (err instanceof KubeApiError && err.code === 403) {
    throw ApplicationFailure.nonRetryable(`route "${route.name}": the worker's credentials may not read its router object: ${err.message}`, FAILURE.AccessDenied);
  }
  throw err;
}

/** Why the migration will not bring the missing router object into the target, or undefined when it will. */
async function whyNotBrought(clusters: ClusterRegistry, route: RouteSpec, router: ObjectRouter, selection: RouteSelection): Promise<string | undefined> {
  if (route.router === 'haproxy') return 'HAProxy backends are not Kubernetes objects';
  if (route.cluster !== selection.target) return `it is in cluster "${route.cluster}", not in the migration's target "${selection.target}"`;
  const sourceNs = sourceNamespaceOf(selection.namespaceMapping, router.object.namespace);
  if (sourceNs === undefined) return `no source namespace lands in "${router.object.namespace}" (namespaces.mapping maps it away)`;
  if (selectNamespaces(selection, [sourceNs]).length === 0) return `its source namespace "${sourceNs}" is not selected (namespaces.include/exclude)`;
  try {
    await clusters.get(selection.source).rest.get(resourcePath({ ...router.object, namespaced: true }, sourceNs, router.object.name));
    return undefined;
  } catch (err) {
    if (apiStatus(err) === 404) return `the source cluster "${selection.source}" has no ${describeRouterObject({ ...router.object, namespace: sourceNs })} either`;
    throw err;
  }
}

/**
 * Each route's router is asked for its current weight: a backend, HTTPRoute or canary Ingress that does not
 * exist, or a route cluster the worker does not know, fails here rather than after the restore. With a
 * `selection`, a router object that is missing but comes with the migration is deferred (named in the
 * report) to the restore preflight and the check after the restore.
 */
export async function checkRoutes(
  routers: WorkerConfig['routers'],
  clusters: ClusterRegistry,
  routes: readonly RouteSpec[],
  selection?: RouteSelection,
): Promise<RouteCheckReport> {
  const problems: string[] = [];
  const report: RouteCheckReport = { weights: {}, deferred: [] };
  for (const route of routes) {
    let router: TrafficRouter | undefined;
    try {
      router = routerFor(routers, clusters, route);
      report.weights[route.name] = await router.getWeight();
    } catch (err) {
      if (err instanceof RouterObjectMissing && router && isObjectRouter(router) && selection) {
        const why = await whyNotBrought(clusters, route, router, selection);
        if (why === undefined) {
          report.deferred.push(route.name);
          continue;
        }
        const where = route.router === 'haproxy' ? '' : ` in cluster "${route.cluster}"`;
        problems.push(`route "${route.name}": ${describeRouterObject(router.object)} does not exist${where}, ` +
          `and the migration does not bring it: ${why}. Create it there, or select it in the migration`);
        continue;
      }
      problems.push(routeProblem(route, err));
    }
  }
  if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), FAILURE.RouterMisconfigured);
  return report;
}

/** A router object in the target cluster that a restore may bring, and how to find it in the backup. */
export interface BroughtRouterObject {
  route: RouteSpec;
  router: ObjectRouter;
  /** The source namespace under which the backup would hold it ('' when none lands there). */
  sourceNamespace: string;
  found?: RawObject;
}

/** The routes of `routes` whose router object lives in the restore's target cluster. */
export function routerObjectsIn(routers: WorkerConfig['routers'], clusters: ClusterRegistry, routes: readonly RouteSpec[], target: string, mapping: NamespaceMapping): BroughtRouterObject[] {
  const found: BroughtRouterObject[] = [];
  for (const route of routes) {
    if (route.router === 'haproxy' || route.cluster !== target) continue;
    const router = routerFor(routers, clusters, route);
    if (!isObjectRouter(router)) continue;
    // No source namespace lands there: the backup cannot hold it, only the target can.
    found.push({ route, router, sourceNamespace: sourceNamespaceOf(mapping, router.object.namespace) ?? '' });
  }
  return found;
}

/** Whether an object of a backup type is the router object `wanted` stands for (as named in the source). */
export function isRouterObject(wanted: BroughtRouterObject, type: Pick<TypeEntry, 'group' | 'resource'>, obj: RawObject): boolean {
  return type.group === wanted.router.object.group && type.resource === wanted.router.object.resource
    && obj.metadata?.namespace === wanted.sourceNamespace && obj.metadata?.name === wanted.router.object.name;
}

/**
 * Judges each router object as the restore will leave it: the backup's copy (as it lands, `found`), or,
 * when the backup does not hold it, the target's own. Returns the problems, each naming its route.
 */
export async function routerObjectProblems(objects: readonly BroughtRouterObject[], backupId: string, target: string): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.found) {
      try {
        o.router.weightOf(o.found);
      } catch (err) {
        if (!(err instanceof RouterError)) throw err;
        problems.push(`route "${o.route.name}": the copy in backup "${backupId}" cannot route: ${err.message}`);
      }
      continue;
    }
    try {
      await o.router.getWeight();
    } catch (err) {
      if (err instanceof RouterObjectMissing) {
        problems.push(`route "${o.route.name}": ${describeRouterObject(o.router.object)} does not exist in cluster "${target}", and backup "${backupId}" ` +
          `does not hold it (check resources.include/exclude and labelSelector, or create it in the target)`);
      } else {
        problems.push(routeProblem(o.route, err));
      }
    }
  }
  return problems;
}

/** After the restore, before the first step: every route's router answers (its object exists in the target). */
export function verifyRoutes(routers: WorkerConfig['routers'], clusters: ClusterRegistry, routes: readonly RouteSpec[]): Promise<RouteCheckReport> {
  return checkRoutes(routers, clusters, routes).catch((err: unknown) => {
    if (err instanceof ApplicationFailure && err.type === FAILURE.RouterMisconfigured) {
      throw ApplicationFailure.nonRetryable(`after the restore, before the first traffic step: ${err.message}`, FAILURE.RouterMisconfigured);
    }
    throw err;
  });
}
