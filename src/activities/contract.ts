// What the workflow and its activities exchange: names, counts and S3 keys only, never Kubernetes
// objects, Secret data or credentials, so that nothing sensitive or large lands in workflow history.
import type { RequestSelection } from '../domain/restore-selection.js';
import type { ReadinessGoal } from '../domain/readiness-goal.js';
import type { NamespaceMapping } from '../domain/namespace-mapping.js';
import type { KindCount, Wave } from '../domain/ordering.js';
import type { ReadinessCount } from '../domain/progress.js';
import type { PlanGraph } from '../domain/plan-graph.js';
import type { NotReadyCause } from '../domain/readiness-causes.js';
import type { RouteSpec } from '../domain/request.js';
import type { SelectionFilters } from '../store/backup-format.js';

export interface StorageRef {
  bucket: string;
  prefix: string;
}

export interface ConnectivityInput {
  source: string;
  target: string;
  storage: StorageRef;
  /** Whether the source must be readable (backup) and the target writable (restore). */
  needs: { source: boolean; target: boolean; storage: boolean };
  /** The request's existingObjects when it writes to the target, for the worker's policy (allowUpdate). */
  existingObjects?: 'skip' | 'fail' | 'update';
  /**
   * The routes that will move traffic: each router is asked for its current weight, so that a missing
   * backend, HTTPRoute or canary Ingress, or an unknown route cluster, fails before anything is written.
   */
  routes?: RouteSpec[];
  /**
   * What the migration selects, so that a router object it brings (in a selected namespace of the source,
   * landing where the route names it) counts as valid before it exists in the target.
   */
  selection?: { namespaces: { include: string[]; exclude: string[] }; namespaceMapping: NamespaceMapping; allowSystemNamespaces?: boolean };
}

export interface ConnectivityReport {
  source?: { version: string };
  target?: { version: string };
  storage: { bucket: string; roundTripMs: number };
  /** Routes whose router object is not in the target yet but comes with the migration (checked again later). */
  routesComingWithMigration?: string[];
}

export interface RouteCheckInput {
  routes: RouteSpec[];
}

export interface RouteCheckReport {
  /** Each route's weight to the target, read from its router. */
  weights: Record<string, number>;
  /** Routes whose router object is missing but comes with the migration. */
  deferred: string[];
}

export type { SelectionFilters };

export interface BackupInput extends SelectionFilters {
  migrationId: string;
  backupId: string;
  source: string;
  storage: StorageRef;
}

export interface BackupSummary {
  backupId: string;
  sourceCluster: string;
  sourceVersion: string;
  completedAt: string;
  namespaces: string[];
  objects: number;
  kinds: KindCount[];
  /** The restore plan's waves, computed from the objects' references (the ids stay in S3). */
  waves: Wave[];
  /** References dropped to break cycles, and references to objects outside the backup, counted. */
  plan: { brokenCycles: number; outside: number };
  /** Workloads in the backup (Deployments): the denominator of the grayscale ratio. */
  workloads: number;
  /** Objects seen in the source but deliberately not copied, counted by reason. */
  leftOut: Record<string, number>;
}

export interface DescribeBackupInput {
  storage: StorageRef;
  backupId: string;
}

export interface ListBackupsInput {
  storage: StorageRef;
  limit?: number;
}

export interface BackupListing {
  backupId: string;
  /** complete: has its manifest; incomplete: running, or failed before its end; unreadable: see problem. */
  status: 'complete' | 'incomplete' | 'unreadable';
  sourceCluster?: string;
  completedAt?: string;
  objects?: number;
  migrationId?: string;
  problem?: string;
}

export interface PlanInput extends SelectionFilters {
  source: string;
  target: string;
  namespaceMapping: NamespaceMapping;
  /** off: no dry run of the workloads' pods (default: they are dry-run where their namespace exists). */
  admission?: 'enforce' | 'warn' | 'off';
}

/** A dry run: what a migration would do, computed from the objects, with nothing written anywhere. */
export interface PlanReport {
  sourceVersion: string;
  namespaces: string[];
  objects: number;
  kinds: KindCount[];
  waves: Wave[];
  /** The first few objects of each wave, as ids. */
  waveExamples: string[][];
  brokenCycles: { from: string; to: string }[];
  outside: number;
  workloads: number;
  leftOut: { reason: string; count: number; examples: string[] }[];
  leftOutTypes: { type: string; reason: string }[];
  /** Types of the selection the target does not serve (and no CRD of the selection would add). */
  notServedByTarget: string[];
  conflicts: number;
  conflictExamples: string[];
  /** The restore plan as a picture (objects, or kinds when there are many); see domain/plan-graph.ts. */
  graph: PlanGraph;
  /**
   * Workloads' pods dry-run in the target namespaces that already exist there (their quotas, limits and
   * Pod Security labels are what a migration would meet); notChecked: workloads of namespaces not there yet.
   */
  admission?: AdmissionReport & { namespacesChecked: string[]; notChecked: number };
}
export interface RestoreWaveInput {
  migrationId: string;
  backupId: string;
  target: string;
  storage: StorageRef;
  wave: number;
  kinds: string[];
  existingObjects: 'skip' | 'update' | 'fail';
  /** With "update": take over fields other managers own (server-side apply with force). */
  forceConflicts?: boolean;
  namespaceMapping: NamespaceMapping;
  keepNodePorts: boolean;
}

export interface PreflightInput {
  backupId: string;
  target: string;
  storage: StorageRef;
  /** Also look up every object in the target (existingObjects: fail). */
  findConflicts: boolean;
  namespaceMapping: NamespaceMapping;
  /** A restore task's selection: refused unless it selects all of the backup (a restore restores all of it). */
  selection?: RequestSelection;
  /** The request's existingObjects, for the worker's policy (allowUpdate). */
  existingObjects?: 'skip' | 'fail' | 'update';
  /** The routes' workloads must be workloads of the backup; checked before anything is written. */
  routes?: Pick<RouteSpec, 'name' | 'workloads'>[];
  /**
   * Routes that will move traffic: a router object in the target cluster must be in the backup (judged
   * as it will land) or already in the target.
   */
  routers?: RouteSpec[];
}

export interface PreflightReport {
  /** Objects read from the backup, every archive's checksum (and encryption tag) verified. */
  objects: number;
  /** Objects of the backup that already exist in the target (when asked for). */
  conflicts: number;
  examples: string[];
}

export interface RestoreWaveResult {
  wave: number;
  created: number;
  /** Already present in the target and left as it was. */
  skipped: number;
  /** Already present and overwritten with the backup's version (existingObjects: update). */
  updated: number;
  /** Skipped objects that differ from the backup, as "Kind namespace/name" (the first few). */
  differences: string[];
  differing: number;
  failed: number;
  /** The first few failures, each naming the object and what the API server said. */
  errors: string[];
}

export interface AdmissionInput {
  backupId: string;
  target: string;
  storage: StorageRef;
  namespaceMapping: NamespaceMapping;
}

/** A workload whose pods the target would not admit, and the target's own words. */
export interface AdmissionRefusal {
  /** "Deployment shop/web", as named in the source. */
  workload: string;
  message: string;
}

export interface AdmissionReport {
  /** Workloads (and bare Pods) whose pods were dry-run in the target. */
  checked: number;
  refused: number;
  /** The first refusals, sorted by workload. */
  refusals: AdmissionRefusal[];
}

export interface ReadinessInput {
  backupId: string;
  target: string;
  storage: StorageRef;
  /** Workloads are named as in the source; the mapping says where they are in the target. */
  routes: Pick<RouteSpec, 'name' | 'workloads'>[];
  namespaceMapping: NamespaceMapping;
}

/** Polls readiness until `goal` is reached or `maxWaitMs` has passed since the activity was scheduled. */
export interface AwaitReadinessInput extends ReadinessInput {
  goal: ReadinessGoal;
  maxWaitMs: number;
  pollMs: number;
}

export interface ReadinessReport {
  overall: ReadinessCount;
  routes: Record<string, ReadinessCount>;
  /** Up to ten workloads not ready yet, as namespace/name, for the operator. */
  notReady: string[];
  /** Why they are not ready, as the target's own signals say (the first ten; bounded messages). */
  causes?: NotReadyCause[];
}

export interface SetWeightInput {
  route: RouteSpec;
  /** Percent of requests to send to the target. */
  weight: number;
}

export interface SetWeightResult {
  route: string;
  weight: number;
}

export interface WatchRoutesInput {
  routes: RouteSpec[];
  /** The percent each route was last set to, by route name: what the watch expects to read. */
  expected: Record<string, number>;
  /** The watch returns after this long with nothing found, so that one activity never runs for days. */
  maxWatchMs: number;
  pollMs: number;
}

/** A route whose router reads another weight than the one last set. */
export interface RouteDrift {
  route: string;
  expected: number;
  found: number;
  /** What the router can tell about why (HAProxy: its weights are back at the configured ones). */
  cause?: string;
}

/** A route whose weight could not be read for a while. */
export interface RouteUnreadable {
  route: string;
  error: string;
}

export interface WatchRoutesResult {
  drifted: RouteDrift[];
  unreadable: RouteUnreadable[];
  checks: number;
}

export interface CleanupInput {
  migrationId: string;
  /**
   * The migration's run: objects another run of the same id created are kept. Without it, every object
   * labelled with the migration id is this migration's (as before runs were recorded).
   */
  runId?: string;
  backupId: string;
  target: string;
  storage: StorageRef;
  namespaceMapping: NamespaceMapping;
}

export interface CleanupResult {
  deleted: number;
  failed: number;
  errors: string[];
  /** What was deleted, by kind. */
  removed?: KindCount[];
  /** Objects labelled with the migration that stay: they existed before it (updated over), or another run made them. */
  kept?: number;
  /** The first few kept, as "Kind namespace/name (why)". */
  keptExamples?: string[];
}

/** The activities the migration workflow calls; src/activities/index.ts implements them. */
export interface MigrationActivities {
  checkConnectivity(input: ConnectivityInput): Promise<ConnectivityReport>;
  backupResources(input: BackupInput): Promise<BackupSummary>;
  describeBackup(input: DescribeBackupInput): Promise<BackupSummary>;
  listBackups(input: ListBackupsInput): Promise<BackupListing[]>;
  planMigration(input: PlanInput): Promise<PlanReport>;
  restoreWave(input: RestoreWaveInput): Promise<RestoreWaveResult>;
  preflightRestore(input: PreflightInput): Promise<PreflightReport>;
  checkReadiness(input: ReadinessInput): Promise<ReadinessReport>;
  awaitReadiness(input: AwaitReadinessInput): Promise<ReadinessReport & { waitedMs: number }>;
  setRouteWeight(input: SetWeightInput): Promise<SetWeightResult>;
  watchRouteWeights(input: WatchRoutesInput): Promise<WatchRoutesResult>;
  verifyRoutes(input: RouteCheckInput): Promise<RouteCheckReport>;
  checkAdmission(input: AdmissionInput): Promise<AdmissionReport>;
  cleanupRestored(input: CleanupInput): Promise<CleanupResult>;
}
