// The client library for platform services: start, follow and steer migrations from code. The
// `kubeferry` command line (src/cli/) is built on it.
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError, type LoadedDataConverter, type Payload } from '@temporalio/common';
import { clientDataConverter } from './codec/data-converter.js';
import type { PayloadEncryptionSettings } from './config/worker-config.js';
import { TEMPORAL_DEFAULTS, temporalSettings } from './config/temporal.js';
import { formatDuration } from './domain/duration.js';
import { readyPercent } from './domain/progress.js';
import type { NotReadyCause } from './domain/readiness-causes.js';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest, type MigrationRequestInput } from './domain/request.js';
import {
  approveUpdate, cleanupWorkflowId, FINAL_PROGRESS, pauseUpdate, progressQuery, promoteUpdate, resumeUpdate, rollbackUpdate,
  type ApproveOptions, type MigrationProgress, type PromoteOptions, type RollbackOptions,
} from './workflows/messages.js';
import type { MigrationResult, migrateCluster } from './workflows/migrate-cluster.js';
import { SEARCH_ATTRIBUTES } from './workflows/search-attributes.js';
import type { describeBackup as describeBackupWorkflow, listBackups as listBackupsWorkflow } from './workflows/backups.js';
import type { CleanupReport, cleanupMigration as cleanupMigrationWorkflow } from './workflows/cleanup.js';
import type { BackupListing, BackupSummary, StorageRef } from './activities/contract.js';

export const DEFAULT_TASK_QUEUE = TEMPORAL_DEFAULTS.taskQueue;

export interface KubeferryClientOptions {
  /** Default: TEMPORAL_ADDRESS, else 127.0.0.1:7233 (src/config/temporal.ts). */
  address?: string;
  /** Default: TEMPORAL_NAMESPACE, else "default". */
  namespace?: string;
  /** Default: KUBEFERRY_TASK_QUEUE, else "kubeferry". */
  taskQueue?: string;
  /**
   * Payload encryption, as the worker has it (the same key file): inputs are encrypted and results
   * decrypted here. Default: KUBEFERRY_PAYLOAD_KEY_FILE (and KUBEFERRY_PAYLOAD_KEY_ID) when set, else off.
   */
  payloadEncryption?: PayloadEncryptionSettings;
  /** How long to wait for the frontend before failing (Temporal's default when omitted). */
  connectTimeout?: string | number;
}

/** A client of the Temporal that the options (or the environment) name, and the task queue of kubeferry's workers there. */
export async function connect(options: KubeferryClientOptions = {}): Promise<{ client: Client; taskQueue: string }> {
  const keyFile = process.env.KUBEFERRY_PAYLOAD_KEY_FILE || undefined;
  const keyId = process.env.KUBEFERRY_PAYLOAD_KEY_ID || undefined;
  // Read before connecting, so that a missing or malformed payload key file is the error reported.
  const dataConverter = clientDataConverter(options.payloadEncryption ?? (keyFile ? { keyFile, ...(keyId ? { keyId } : {}) } : undefined));
  const { address, namespace, taskQueue } = temporalSettings(options);
  const connection = await Connection.connect({ address, ...(options.connectTimeout !== undefined ? { connectTimeout: options.connectTimeout } : {}) });
  return { client: new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}) }), taskQueue };
}

/** The first of some payloads, through the client's codecs (the last applied is undone first) and payload converter. */
async function decodeFirst<T>(converter: LoadedDataConverter, payloads: Payload[]): Promise<T | undefined> {
  let decoded = payloads;
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  return decoded[0] ? converter.payloadConverter.fromPayload<T>(decoded[0]) : undefined;
}

/**
 * Starts a migration whose workflow id is the migration id, so starting the same id twice returns the
 * running one instead of a second migration. The request is validated here first, with the same schema
 * the workflow uses, so a bad request fails before anything starts.
 */
export async function startMigration(
  client: Client,
  taskQueue: string,
  migrationId: string,
  request: MigrationRequestInput,
): Promise<WorkflowHandle<typeof migrateCluster>> {
  const idProblem = migrationIdProblem(migrationId);
  if (idProblem) throw new InvalidRequestError([`(migration id): ${idProblem}`]);
  parseMigrationRequest(request);
  try {
    return await client.workflow.start<typeof migrateCluster>('migrateCluster', {
      taskQueue,
      workflowId: migrationId,
      args: [request],
      staticSummary: staticSummary(request),
      // An id names one migration for good: its backup and what it created stay its own.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle<typeof migrateCluster>(migrationId);
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return handle;
    throw new MigrationIdTakenError(migrationId, description.status.name, description.closeTime);
  }
}

/** A migration id whose migration has ended: ids are never reused. */
export class MigrationIdTakenError extends Error {
  constructor(readonly migrationId: string, readonly status: string, readonly closedAt?: Date) {
    super(
      `migration id "${migrationId}" is taken: its migration ended ${status}${closedAt ? ` at ${closedAt.toISOString()}` : ''}, and an id is never ` +
        `reused (its backup and what it created in the target stay its own). Remove what it created with 'kubeferry cleanup ${migrationId}' ` +
        `if you no longer want it, and start again with a fresh id (for example ${freshId(migrationId)}).`,
    );
    this.name = 'MigrationIdTakenError';
  }
}

/** "web" -> "web-2", "web-2" -> "web-3", kept within a DNS label. */
export function freshId(id: string): string {
  const m = /^(.*)-(\d+)$/.exec(id);
  const [base, n] = m ? [m[1]!, Number(m[2]) + 1] : [id, 2];
  return `${base.slice(0, 63 - String(n).length - 1)}-${n}`;
}

export interface MigrationListing {
  migrationId: string;
  /** The workflow's status: RUNNING, COMPLETED, FAILED, ... */
  status: string;
  task?: string;
  phase?: string;
  trafficWeight?: number;
  readyPercent?: number;
  sourceCluster?: string;
  targetCluster?: string;
  startTime: Date;
}

/**
 * Migrations, newest first, found through their typed search attributes; `query` narrows them with the
 * visibility query language, e.g. `MigrationPhase = "traffic" AND TrafficWeight >= 50`.
 */
export async function listMigrations(client: Client, query?: string, limit = 50): Promise<MigrationListing[]> {
  const listings: MigrationListing[] = [];
  const full = `WorkflowType = "migrateCluster"${query ? ` AND (${query})` : ''}`;
  for await (const w of client.workflow.list({ query: full, pageSize: limit })) {
    const a = w.typedSearchAttributes;
    listings.push({
      migrationId: w.workflowId,
      status: w.status.name,
      task: a.get(SEARCH_ATTRIBUTES.task),
      phase: a.get(SEARCH_ATTRIBUTES.phase),
      trafficWeight: a.get(SEARCH_ATTRIBUTES.trafficWeight),
      readyPercent: a.get(SEARCH_ATTRIBUTES.readyPercent),
      sourceCluster: a.get(SEARCH_ATTRIBUTES.sourceCluster),
      targetCluster: a.get(SEARCH_ATTRIBUTES.targetCluster),
      startTime: w.startTime,
    });
    if (listings.length >= limit) break;
  }
  return listings;
}

/** Backups under a bucket and prefix, newest first, read by a worker (which holds the S3 credentials). */
export async function listBackups(client: Client, taskQueue: string, storage: StorageRef, limit = 100): Promise<BackupListing[]> {
  return client.workflow.execute<typeof listBackupsWorkflow>('listBackups', {
    taskQueue, workflowId: `kubeferry-list-backups-${randomUUID()}`, args: [storage, limit], staticSummary: `list backups in s3://${storage.bucket}/${storage.prefix}`,
  });
}

/** One backup's summary (objects, kinds, waves, workloads, what was left out and why). */
export async function describeBackup(client: Client, taskQueue: string, storage: StorageRef, backupId: string): Promise<BackupSummary> {
  return client.workflow.execute<typeof describeBackupWorkflow>('describeBackup', {
    taskQueue, workflowId: `kubeferry-describe-backup-${randomUUID()}`, args: [storage, backupId], staticSummary: `describe backup ${backupId}`,
  });
}

/** One line for the Web UI's list of workflows: what moves where. Names only. */
export function staticSummary(request: MigrationRequestInput): string {
  const task = request.task ?? 'migrate';
  const routes = request.routes?.length ? `, routes ${request.routes.map((r) => r.name).join(', ')}` : '';
  return `${task} ${request.source.cluster} -> ${request.target.cluster}: namespaces ${request.namespaces.include.join(', ')}${routes}`;
}

/**
 * The migration's progress. While it waits for readiness (one activity that polls the target), the
 * counts of that activity's last poll, from its heartbeat, replace the workflow's own, which are only
 * brought up to date when the wait ends.
 */
export async function getProgress(client: Client, migrationId: string): Promise<MigrationProgress> {
  const handle = client.workflow.getHandle(migrationId);
  const progress = await handle.query(progressQuery);
  if (progress.phase !== 'readiness' && progress.phase !== 'traffic') return progress;
  const live = await pollingReadiness(client, handle).catch(() => undefined);
  if (live) {
    progress.readiness = {
      ready: live.ready, total: live.total, percent: readyPercent(live),
      ...(live.causes?.length && live.ready < live.total ? { notReady: live.causes } : {}),
    };
  }
  return progress;
}

async function pollingReadiness(client: Client, handle: WorkflowHandle): Promise<{ ready: number; total: number; causes?: NotReadyCause[] } | undefined> {
  const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'awaitReadiness');
  const payloads = pending?.heartbeatDetails?.payloads;
  if (!payloads?.length) return undefined;
  // Through the client's data converter: with payload encryption the heartbeat is encrypted too.
  const details = await decodeFirst<{ ready?: unknown; total?: unknown; causes?: unknown }>(client.options.loadedDataConverter, payloads);
  if (typeof details?.ready !== 'number' || typeof details.total !== 'number') return undefined;
  const causes = Array.isArray(details.causes)
    ? details.causes.filter((c): c is NotReadyCause => typeof c?.workload === 'string' && typeof c?.cause === 'string')
    : undefined;
  return { ready: details.ready, total: details.total, ...(causes?.length ? { causes } : {}) };
}

export function formatProgress(p: MigrationProgress): string {
  const routes = p.routes.map((r) => `${r.name}=${r.weight}%`).join(' ') || '-';
  return [
    `${p.migrationId} [${p.task}] phase=${p.phase}${p.paused ? ' (paused)' : ''}`,
    `objects ${p.objects.restored + p.objects.skipped}/${p.objects.total} (backed up ${p.objects.backedUp})`,
    `waves ${p.waves.done}/${p.waves.total}`,
    `ready ${p.readiness.ready}/${p.readiness.total}`,
    `step ${p.step.index}/${p.step.total}${p.pendingApproval ? ` (step ${p.pendingApproval.step} at ${p.pendingApproval.weight}% waits for approve)` : ''}`,
    `weights ${routes}`,
  ].join(' | ');
}

/**
 * Operator messages as updates: the workflow validates each (rejecting, with the reason, what makes no
 * sense: resume when not paused, approve with nothing pending...) and answers with its new progress.
 */
export async function pauseMigration(client: Client, migrationId: string): Promise<MigrationProgress> {
  return client.workflow.getHandle(migrationId).executeUpdate(pauseUpdate);
}

export async function resumeMigration(client: Client, migrationId: string): Promise<MigrationProgress> {
  return client.workflow.getHandle(migrationId).executeUpdate(resumeUpdate);
}

export async function approveStep(client: Client, migrationId: string, options: ApproveOptions = {}): Promise<MigrationProgress> {
  return client.workflow.getHandle(migrationId).executeUpdate(approveUpdate, { args: [options] });
}

export async function rollbackMigration(client: Client, migrationId: string, options: RollbackOptions = {}): Promise<MigrationProgress> {
  return client.workflow.getHandle(migrationId).executeUpdate(rollbackUpdate, { args: [options] });
}

/**
 * Like Argo Rollouts' promote: the next traffic step now, or with `full` every route to 100 % target now
 * (refused while a route has no ready workload in the target).
 */
export async function promoteMigration(client: Client, migrationId: string, options: PromoteOptions = {}): Promise<MigrationProgress> {
  return client.workflow.getHandle(migrationId).executeUpdate(promoteUpdate, { args: [options] });
}

export interface WatchOptions {
  indent?: string;
  intervalMs?: number;
  /** Called with each new progress; by default each change is printed as one line. */
  onProgress?: (progress: MigrationProgress) => void;
}

/** Follows a migration until it ends (reporting its progress on the way) and returns its result. */
export async function watchMigration(client: Client, migrationId: string, options: WatchOptions = {}): Promise<MigrationResult> {
  const { indent = '', intervalMs = 1000 } = options;
  const handle = client.workflow.getHandle<typeof migrateCluster>(migrationId);
  const started = Date.now();
  const done = handle.result().then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  let last = '';
  const report = options.onProgress ?? ((p: MigrationProgress) => {
    const line = formatProgress(p);
    if (line !== last) console.log(`${indent}[${formatDuration(Date.now() - started)}] ${line}`);
    last = line;
  });
  for (;;) {
    const outcome = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), intervalMs))]);
    if (outcome) {
      if (!outcome.ok) throw outcome.e;
      report(outcome.r.progress);
      return outcome.r;
    }
    try {
      report(await getProgress(client, migrationId));
    } catch {
      // The workflow may have just closed; its result follows.
    }
  }
}

/** A migration's cleanup (`kubeferry cleanup`), as its own workflow recorded it. */
export interface CleanupState {
  status: string;
  report?: CleanupReport;
  failure?: string;
}

export type MigrationState =
  | { running: true; status: string; progress: MigrationProgress }
  | {
    running: false;
    status: string;
    result?: MigrationResult;
    failure?: unknown;
    /** The final progress: the result's, or the one a failed migration keeps in its memo. */
    progress?: MigrationProgress;
    /** When the migration ended. */
    closedAt?: Date;
    cleanup?: CleanupState;
  };

/**
 * Where a migration is: its live progress while it runs (a query), its result once it has ended (read
 * from the history, so no worker is needed), or why it failed, with its final progress and any cleanup.
 */
export async function getMigration(client: Client, migrationId: string): Promise<MigrationState> {
  const handle = client.workflow.getHandle<typeof migrateCluster>(migrationId);
  const description = await handle.describe();
  const status = description.status.name;
  if (status === 'RUNNING') return { running: true, status, progress: await getProgress(client, migrationId) };
  const cleanup = await cleanupState(client, migrationId);
  const ended = { running: false as const, status, ...(description.closeTime ? { closedAt: description.closeTime } : {}), ...(cleanup ? { cleanup } : {}) };
  try {
    const result = await handle.result();
    return { ...ended, result, progress: result.progress };
  } catch (failure) {
    const progress = finalProgressOf(description.memo);
    return { ...ended, failure, ...(progress ? { progress } : {}) };
  }
}

/** The final progress a failed migration keeps in its memo (migrations since that was recorded). */
export function finalProgressOf(memo: Record<string, unknown> | undefined): MigrationProgress | undefined {
  const progress = memo?.[FINAL_PROGRESS] as MigrationProgress | undefined;
  return typeof progress?.migrationId === 'string' ? progress : undefined;
}

async function cleanupState(client: Client, migrationId: string): Promise<CleanupState | undefined> {
  const handle = client.workflow.getHandle<typeof cleanupMigrationWorkflow>(cleanupWorkflowId(migrationId));
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (status === 'RUNNING') return { status };
  return handle.result().then(
    (report) => ({ status, report }),
    (err: unknown) => ({ status, failure: rootMessage(err) }),
  );
}

/** The message of the innermost cause: what failed, beneath "Workflow execution failed" and "Activity task failed". */
export const rootMessage = (err: unknown): string => {
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
};

export interface CleanupOptions {
  /** Also clean up a completed migration (its traffic is moved back to the source first). */
  force?: boolean;
}

/**
 * Removes what an ended migration created in the target (failed, completed with `force`, or rolled back
 * without cleanup), with a rollback's rules, after moving its routes back to the source; returns what was
 * removed and what was kept. A running migration is refused: roll it back with cleanup instead.
 */
export async function cleanupMigration(client: Client, taskQueue: string, migrationId: string, options: CleanupOptions = {}): Promise<CleanupReport> {
  const idProblem = migrationIdProblem(migrationId);
  if (idProblem) throw new InvalidRequestError([`(migration id): ${idProblem}`]);
  // Every run of the id (one, unless it was started again behind the client's back); the first owns it.
  const runs = await runsOf(client, migrationId);
  if (runs.some((r) => r.status === 'RUNNING')) {
    throw new CleanupRefusedError(`migration "${migrationId}" is still running; roll it back with cleanup instead: kubeferry rollback ${migrationId} --cleanup`);
  }
  const first = client.workflow.getHandle<typeof migrateCluster>(migrationId, runs[0]!.runId);
  const request = parseMigrationRequest(await startInput(client, first));
  if (request.task === 'backup' || request.task === 'plan') {
    throw new CleanupRefusedError(`migration "${migrationId}" is a ${request.task} task: it wrote nothing to the target, so there is nothing to clean up`);
  }
  if (!options.force) {
    for (const run of runs.filter((r) => r.status === 'COMPLETED')) {
      const result = await client.workflow.getHandle<typeof migrateCluster>(migrationId, run.runId).result();
      if (result.status !== 'Completed') continue;
      const moved = result.progress.routes.filter((r) => r.weight > 0).map((r) => `${r.name} ${r.weight}%`);
      throw new CleanupRefusedError(
        `migration "${migrationId}" completed${moved.length ? `, and its traffic is on the target (${moved.join(', ')})` : ''}. A cleanup moves every route back to the ` +
          `source, then deletes what ${migrationId} created in ${request.target.cluster}. Pass --force (force: true) if that is what you want.`,
      );
    }
  }
  return client.workflow.execute<typeof cleanupMigrationWorkflow>('cleanupMigration', {
    taskQueue,
    workflowId: cleanupWorkflowId(migrationId),
    // A cleanup already running is joined; one that ended may run again (it is idempotent).
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `cleanup of ${migrationId} in ${request.target.cluster}`,
    args: [{
      migrationId, backupId: request.backupId ?? migrationId, target: request.target.cluster,
      storage: request.storage, namespaceMapping: request.namespaces.mapping, routes: request.task === 'migrate' ? request.routes : [],
    }],
  });
}

/** The runs of a migration id, oldest first (visibility, or the latest run when visibility has none yet). */
async function runsOf(client: Client, migrationId: string): Promise<{ runId: string; status: string }[]> {
  const runs: { runId: string; status: string; start: number }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = "migrateCluster" AND WorkflowId = "${migrationId}"` })) {
    runs.push({ runId: w.runId, status: w.status.name, start: w.startTime.getTime() });
  }
  if (runs.length === 0) {
    const latest = await client.workflow.getHandle(migrationId).describe(); // not found: no such migration
    return [{ runId: latest.runId, status: latest.status.name }];
  }
  return runs.sort((a, b) => a.start - b.start);
}

/** The cleanup was refused before anything was done: the message says why and what to do. */
export class CleanupRefusedError extends Error {
  override name = 'CleanupRefusedError';
}

/** The request a migration was started with, from the first event of its history (through the client's codec). */
async function startInput(client: Client, handle: WorkflowHandle): Promise<unknown> {
  const history = await handle.fetchHistory();
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!payloads?.length) throw new Error(`the history of migration "${handle.workflowId}" holds no start input`);
  return decodeFirst(client.options.loadedDataConverter, payloads);
}

/** Starts a backup of the request's selection (the backup id is the migration id unless it names one). */
export function startBackup(client: Client, taskQueue: string, migrationId: string, request: Omit<MigrationRequestInput, 'task'>) {
  return startMigration(client, taskQueue, migrationId, { ...request, task: 'backup' });
}

/** Restores an existing backup (`backupId`) into the target, then waits for its workloads to be ready. */
export function startRestore(client: Client, taskQueue: string, migrationId: string, request: Omit<MigrationRequestInput, 'task'> & { backupId: string }) {
  return startMigration(client, taskQueue, migrationId, { ...request, task: 'restore' });
}
