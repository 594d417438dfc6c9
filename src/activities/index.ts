// The activities, bound to the worker's dependencies (clusters, object store, router endpoints), so tests
// can build them against any stack.
import type { WorkerConfig } from '../config/worker-config.js';
import { checkAdmission } from './admission.js';
import { loadArchiveKey, type ArchiveKey } from '../store/archive-crypto.js';
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
  /** Encrypts archives holding Secrets; without it, backing up Secrets is refused. */
  encryptionKey?: ArchiveKey;
}

export function depsFromConfig(config: WorkerConfig): ActivityDeps {
  return {
    clusters: new ClusterRegistry(config.clusters),
    store: new ObjectStore(config.storage),
    routers: config.routers,
    ...(config.backupEncryption?.keyFile ? { encryptionKey: loadArchiveKey(config.backupEncryption.keyFile) } : {}),
  };
}

export function createActivities({ clusters, store, routers, encryptionKey }: ActivityDeps): MigrationActivities {
  return {
    checkConnectivity: (input) => checkConnectivity(clusters, store, input, routers),
    backupResources: (input) => backupResources(clusters, store, encryptionKey, input),
    describeBackup: async (input) => summarize(await readManifest(store, input.storage, input.backupId)),
    listBackups: (input) => listBackups(store, input),
    planMigration: (input) => planMigration(clusters, input),
    restoreWave: (input) => restoreWave(clusters, store, encryptionKey, input),
    preflightRestore: (input) => preflightRestore(clusters, store, encryptionKey, input, routers),
    checkReadiness: (input) => checkReadiness(clusters, store, input),
    awaitReadiness: (input) => awaitReadiness(clusters, store, input),
    setRouteWeight: (input) => setRouteWeight(routers, clusters, input),
    verifyRoutes: (input) => verifyRoutes(routers, clusters, input.routes),
    checkAdmission: (input) => checkAdmission(clusters, store, encryptionKey, input),
    cleanupRestored: (input) => cleanupRestored(clusters, store, input),
  };
}
