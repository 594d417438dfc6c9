// The activities, bound to the worker's dependencies (clusters, object store, router endpoints), so tests
// can build them against any stack.
import type { WorkerConfig } from '../config/worker-config.js';
import { checkAdmission } from './admission.js';
import { loadBackupKeyring, type BackupKeyring } from '../store/archive-crypto.js';
import { backupResources, listBackups, summarize } from './backup.js';
import { ClusterRegistry } from '../kube/clusters.js';
import { cleanupRestored } from './cleanup.js';
import { checkConnectivity } from './connectivity.js';
import type { MigrationActivities } from './contract.js';
import { ObjectStore } from '../store/object-store.js';
import { planMigration } from './plan.js';
import { awaitReadiness, checkReadiness } from './readiness.js';
import { preflightRestore, restoreWave } from './restore.js';
import { verifyRoutes } from './routes.js';
import { setRouteWeight, watchRouteWeights } from './traffic.js';
import { readManifest } from '../store/backup-store.js';
import type { PolicyFacts, WorkerPolicy } from '../config/worker-policy.js';
import { enforcePolicy } from './policy.js';

export interface ActivityDeps {
  clusters: ClusterRegistry;
  store: ObjectStore;
  routers: WorkerConfig['routers'];
  /** Encrypt archives holding Secrets and authenticate manifests; without them, backing up Secrets is refused. */
  keys?: BackupKeyring;
  /** What requests may make the worker do (worker config `policy`). */
  policy?: WorkerPolicy;
}

export function depsFromConfig(config: WorkerConfig): ActivityDeps {
  return {
    clusters: new ClusterRegistry(config.clusters),
    store: new ObjectStore(config.storage),
    routers: config.routers,
    ...(config.backupEncryption ? { keys: loadBackupKeyring(config.backupEncryption) } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
  };
}

export function createActivities({ clusters, store, routers, keys, policy }: ActivityDeps): MigrationActivities {
  // Checked first by each activity whose input names what the policy limits; the namespaces are checked
  // where they are resolved (backup and plan against the source, preflight against the backup).
  const allowed = <T>(facts: PolicyFacts, run: () => Promise<T>): Promise<T> => {
    try {
      enforcePolicy(policy, facts);
    } catch (err) {
      return Promise.reject(err);
    }
    return run();
  };
  return {
    checkConnectivity: (input) => allowed({
      ...(input.needs.source ? { source: input.source } : {}), ...(input.needs.target ? { target: input.target } : {}),
      ...(input.needs.storage ? { storage: input.storage } : {}), ...(input.existingObjects ? { existingObjects: input.existingObjects } : {}),
    }, () => checkConnectivity(clusters, store, input, routers)),
    backupResources: (input) => backupResources(clusters, store, keys, input, policy),
    describeBackup: (input) => allowed({ storage: input.storage }, async () => summarize(await readManifest(store, input.storage, input.backupId, keys))),
    listBackups: (input) => allowed({ storage: input.storage }, () => listBackups(store, keys, input)),
    planMigration: (input) => planMigration(clusters, input, policy),
    restoreWave: (input) => allowed({ target: input.target, storage: input.storage, existingObjects: input.existingObjects },
      () => restoreWave(clusters, store, keys, input)),
    preflightRestore: (input) => preflightRestore(clusters, store, keys, input, routers, policy),
    checkReadiness: (input) => checkReadiness(clusters, store, keys, input),
    awaitReadiness: (input) => awaitReadiness(clusters, store, keys, input),
    setRouteWeight: (input) => setRouteWeight(routers, clusters, input),
    watchRouteWeights: (input) => watchRouteWeights(routers, clusters, input),
    verifyRoutes: (input) => verifyRoutes(routers, clusters, input.routes),
    checkAdmission: (input) => checkAdmission(clusters, store, keys, input),
    cleanupRestored: (input) => allowed({ target: input.target, storage: input.storage }, () => cleanupRestored(clusters, store, keys, input)),
  };
}
