// The activities as the migration calls them: three profiles (short calls, bulk work, readiness waits),
// each a proxy of the activity contract. Workflow code takes the activities' types only.
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { MigrationActivities } from '../../activities/contract.js';
import { NON_RETRYABLE } from '../../domain/failures.js';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' } as const;
const nonRetryableErrorTypes = [...NON_RETRYABLE];

// Short calls: connectivity, readiness checks, router commands.
export const QUICK: ActivityOptions = { startToCloseTimeout: '1m', retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes } };
// Bulk work over many objects. It resumes from its heartbeat, and what cannot succeed fails as a
// non-retryable type, so an outage of S3 or an API server is waited out (retried every 30 s at most)
// for up to 6 hours, in sight in the Web UI as a pending activity, rather than failing the migration
// after a few quick attempts.
export const BULK: ActivityOptions = {
  startToCloseTimeout: '30m', heartbeatTimeout: '1m', scheduleToCloseTimeout: '6h', retry: { ...retry, nonRetryableErrorTypes },
};
// Bulk work that a rollback cancels (backup, restore, their preflights): the workflow waits until the
// cancelled attempt has stopped (it stops between chunks and pages), so that cleanup never runs while it
// still writes. Behind patch `bulk-cancel-settles` (legacy.ts).
export const SETTLING_BULK: ActivityOptions = { ...BULK, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };
// A wait for readiness: one activity polling the target for as long as the workloads take; its
// heartbeat is each poll, so a pause (which cancels it) and a lost worker are noticed within 30 s.
export const WAIT: ActivityOptions = { heartbeatTimeout: '30s', retry: { ...retry, maximumAttempts: 10, nonRetryableErrorTypes } };
export const quick = proxyActivities<MigrationActivities>(QUICK);
export const waiting = proxyActivities<MigrationActivities>({ ...WAIT, startToCloseTimeout: '1m' });
export const bulk = proxyActivities<MigrationActivities>(BULK);
