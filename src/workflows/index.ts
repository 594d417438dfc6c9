// Everything the worker registers as workflow code. Workflows are deterministic: see eslint.config.js.
export { migrateCluster, type MigrationResult } from './migrate-cluster.js';
export * from './messages.js';
export { listBackups, describeBackup } from './backups.js';
export { cleanupMigration, type CleanupReport, type CleanupRequest } from './cleanup.js';
