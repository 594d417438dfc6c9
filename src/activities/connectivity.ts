// Connectivity: both API servers answer and allow what the job needs; the bucket takes a write, a read
// and a delete. Failing here costs nothing; failing half-way through a restore costs a rollback.
import { ApplicationFailure } from '@temporalio/activity';
import type { ConnectivityInput, ConnectivityReport } from './contract.js';
import type { Cluster, ClusterRegistry } from '../kube/clusters.js';
import type { WorkerConfig } from '../config/worker-config.js';
import type { ObjectStore } from '../store/object-store.js';
import { checkRoutes } from './routes.js';
import { apiMessage } from '../kube/errors.js';
import { FAILURE } from '../domain/failures.js';

async function reach(cluster: Cluster, role: string): Promise<string> {
  try {
    return (await cluster.rest.get<{ gitVersion: string }>('/version')).gitVersion;
  } catch (err) {
    // Retryable: an API server that is restarting answers again soon.
    throw new Error(`the ${role} cluster "${cluster.name}" (${cluster.server}) does not answer: ${apiMessage(err)}`);
  }
}

/** Asks the API server whether this identity may do each verb on each resource (cluster-wide). */
async function assertAllowed(cluster: Cluster, role: string, checks: [verb: string, group: string, resource: string][]) {
  // All at once: each review is a round trip, and a migration waits for all of them before it starts.
  const reviews = await Promise.all(checks.map(([verb, group, resource]) => cluster.rest.request<{ status?: { allowed?: boolean } }>(
    'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, group, resource } } } },
  )));
  const denied = checks.filter((_, i) => !reviews[i]!.status?.allowed).map(([verb, group, resource]) => `${verb} ${group ? `${resource}.${group}` : resource}`);
  if (denied.length) {
    throw ApplicationFailure.nonRetryable(
      `the credentials for the ${role} cluster "${cluster.name}" may not: ${denied.join(', ')}. Grant them, or use other credentials in the worker config.`,
      FAILURE.AccessDenied,
    );
  }
}

const READ = ['list', 'get'];
// Not Secrets: deploy/rbac grants them per selected namespace (`kubeferry rbac source`), which a
// cluster-wide review would deny. The backup then lists them namespace by namespace, and a namespace
// without the grant fails it (AccessDenied, naming the namespace) before anything is written.
const SOURCE_NEEDS = ['namespaces', 'configmaps', 'serviceaccounts', 'services'].flatMap((r) => READ.map((v) => [v, '', r] as [string, string, string]))
  .concat(READ.map((v) => [v, 'apps', 'deployments'] as [string, string, string]));
const TARGET_NEEDS = ['namespaces', 'configmaps', 'secrets', 'serviceaccounts', 'services'].map((r) => ['create', '', r] as [string, string, string])
  .concat([['create', 'apps', 'deployments'], ['get', 'apps', 'deployments'], ['list', 'discovery.k8s.io', 'endpointslices']]);

export async function checkConnectivity(
  clusters: ClusterRegistry,
  store: ObjectStore,
  input: ConnectivityInput,
  routers: WorkerConfig['routers'] = {},
): Promise<ConnectivityReport> {
  const report: ConnectivityReport = { storage: { bucket: input.storage.bucket, roundTripMs: 0 } };
  const routes = async () => {
    const selection = input.selection && { source: input.source, target: input.target, ...input.selection };
    const checked = await checkRoutes(routers, clusters, input.routes!, selection);
    if (checked.deferred.length) report.routesComingWithMigration = checked.deferred;
  };
  const cluster = async (name: string, role: 'source' | 'target', needs: [string, string, string][]) => {
    const c = clusters.get(name);
    const version = await reach(c, role);
    await assertAllowed(c, role, needs);
    report[role] = { version };
  };
  // The checks run side by side; when several fail, the first in this order is the one reported.
  const outcomes = await Promise.allSettled([
    input.needs.source ? cluster(input.source, 'source', SOURCE_NEEDS) : undefined,
    input.needs.target ? cluster(input.target, 'target', TARGET_NEEDS) : undefined,
    input.routes?.length ? routes() : undefined,
    input.needs.storage ? checkStorage(store, input, report) : undefined,
  ]);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
  return report;
}

async function checkStorage(store: ObjectStore, input: ConnectivityInput, report: ConnectivityReport): Promise<void> {
  const started = Date.now();
  const key = `${input.storage.prefix.replace(/\/+$/, '')}/.kubeferry-probe-${process.pid}-${started}`;
  try {
    await store.put(input.storage.bucket, key, Buffer.from('probe'));
    const back = await store.get(input.storage.bucket, key);
    if (back?.toString() !== 'probe') throw new Error('what was read back differs from what was written');
    await store.delete(input.storage.bucket, key);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `the bucket "${input.storage.bucket}" does not take a write, read and delete under "${input.storage.prefix}/": ${(err as Error).name}: ${(err as Error).message}. ` +
        `Check that it exists and that the worker's S3 credentials may use it.`,
      FAILURE.StorageUnavailable,
    );
  }
  report.storage.roundTripMs = Date.now() - started;
}
