// Short workflows that read the backup catalogue. The worker holds the S3 credentials, so a platform
// service or an operator lists and describes backups through it, never with credentials of its own.
import { proxyActivities } from '@temporalio/workflow';
import type { BackupListing, BackupSummary, MigrationActivities, StorageRef } from '../activities/contract.js';
import { FAILURE } from '../domain/failures.js';

const { listBackups: list, describeBackup: describe } = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FAILURE.BackupNotFound, FAILURE.CorruptBackup, FAILURE.UnsupportedBackupVersion] },
});

/** Backups under a bucket and prefix, newest first; unfinished ones are listed as incomplete. */
export async function listBackups(storage: StorageRef, limit = 100): Promise<BackupListing[]> {
  return list({ storage, limit });
}

/** One backup's summary: objects and kinds, restore waves, workloads, what was left out and why. */
export async function describeBackup(storage: StorageRef, backupId: string): Promise<BackupSummary> {
  return describe({ storage, backupId });
}
