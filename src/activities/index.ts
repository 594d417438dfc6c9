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
import { setRouteWeight } from './traffic.js';
import { readManifest } from '../store/backup-store.js';

export interface ActivityDeps {
  clusters: ClusterRegistry;
  store: ObjectStore;
  routers: WorkerConfig['routers'];
  /** Encrypt archives holding Secrets and authenticate manifests; without them, backing up Secrets is refused. */
  keys?: BackupKeyring;
}

export function depsFromConfig(config: WorkerConfig): ActivityDeps {
  return {
    clusters: new ClusterRegistry(config.clusters),
    store: new ObjectStore(config.storage),
    routers: config.routers,
    ...(config.backupEncryption ? { keys: loadBackupKeyring(config.backupEncryption) } : {}),
  };
}

export function createActivities({ clusters, store, routers, keys }: ActivityDeps): MigrationActivities {
  return {
    checkConnectivity: (input) => checkConnectivity(clusters, store, input, routers),
    backupResources: (input) => backupResources(clusters, store, keys, input),
    describeBackup: async (input) => summarize(await readManifest(store, input.storage, input.backupId, keys)),
    listBackups: (input) => listBackups(store, keys, input),
    planMigration: (input) => planMigration(clusters, input),
    restoreWave: (input) => restoreWave(clusters, store, keys, input),
    preflightRestore: (input) => preflightRestore(clusters, store, keys, input, routers),
    checkReadiness: (input) => checkReadiness(clusters, store, keys, input),
    awaitReadiness: (input) => awaitReadiness(clusters, store, keys, input),
    setRouteWeight: (input) => setRouteWeight(routers, clusters, input),
    verifyRoutes: (input) => verifyRoutes(routers, clusters, input.routes),
    checkAdmission: (input) => checkAdmission(clusters, store, keys, input),
    cleanupRestored: (input) => cleanupRestored(clusters, store, keys, input),
  };
}
