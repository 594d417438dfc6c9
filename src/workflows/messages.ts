// Messages an operator sends to a running migration, and what it reports back.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { NotReadyCause } from '../domain/readiness-causes.js';

export type MigrationPhase =
  | 'validating'
  | 'connectivity'
  | 'planning'
  | 'backup'
  | 'restore'
  | 'readiness'
  | 'traffic'
  | 'completed'
  | 'rolling-back'
  | 'rolled-back'
  | 'failed';

export interface RouteProgress {
  name: string;
  weight: number;
  ready: number;
  total: number;
  /** How often the route was found at another weight than the one set (an HAProxy reload) and set again. */
  resets?: number;
}

export interface MigrationProgress {
  migrationId: string;
  task: 'migrate' | 'backup' | 'restore' | 'plan';
  phase: MigrationPhase;
  paused: boolean;
  rollbackRequested: boolean;
  backupId?: string;
  objects: { backedUp: number; restored: number; skipped: number; updated: number; differing: number; failed: number; total: number };
  waves: { done: number; total: number };
  /** notReady: why workloads are not ready yet, from the target's own signals (the first few, bounded). */
  readiness: { ready: number; total: number; percent: number; replicas?: { ready: number; total: number }; notReady?: NotReadyCause[] };
  routes: RouteProgress[];
  step: { index: number; total: number; nextAt?: string };
  /** A step that waits for an operator's approve. */
  pendingApproval?: { step: number; weight: number; since: string };
  /** When the grayscale time threshold moves all traffic to the target (paused time pushes it back). */
  cutoverAt?: string;
  /**
   * Set once all traffic was moved at once, by the grayscale time threshold or an operator's
   * `promote --full`; routes kept back by the no-ready-workload guard are named.
   */
  cutover?: { at: string; heldBack: string[]; by?: 'threshold' | 'promote' };
  /** The admission preflight: workloads whose pods were dry-run in the target, and those it would refuse. */
  admission?: { mode: 'enforce' | 'warn'; checked: number; refused: number; refusals: { workload: string; message: string }[] };
  /** What a rollback's cleanup deleted from the target. */
  cleanup?: { deleted: number; failed: number; kept?: number };
  errors: string[];
  /** Objects left as they were in the target that differ from the backup (existingObjects: skip). */
  differences: string[];
  /** Objects of the source deliberately not copied, counted by reason (from the backup). */
  leftOut?: Record<string, number>;
  /** References the restore plan dropped to break cycles, and references to objects outside the backup. */
  plan?: { brokenCycles: number; outside: number };
}

export interface RollbackOptions {
  /** Why the operator rolled back; shown in progress and the result. */
  reason?: string;
  /** Also delete what this migration created in the target (by its label, in reverse dependency order). */
  cleanup?: boolean;
}

export interface ApproveOptions {
  /** The step being approved (1-based); when given, it must be the one pending. */
  step?: number;
}

export interface PromoteOptions {
  /** Every route to 100 % target now (refused while a route has no ready workload); otherwise the next step now. */
  full?: boolean;
}

/** The memo key under which a failed migration keeps its final progress (names and counts only). */
export const FINAL_PROGRESS = 'finalProgress';

/** The workflow id of a migration's cleanup: one per migration, so a second start finds the first. */
export const cleanupWorkflowId = (migrationId: string) => `kubeferry-cleanup-${migrationId}`;

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const rollbackSignal = defineSignal<[RollbackOptions?]>('rollback');
export const approveSignal = defineSignal<[ApproveOptions?]>('approve');

// The same as Updates: validated synchronously (what makes no sense is rejected and never reaches the
// history as an accepted update) and answered with the resulting state.
export const pauseUpdate = defineUpdate<MigrationProgress>('pause');
export const resumeUpdate = defineUpdate<MigrationProgress>('resume');
export const approveUpdate = defineUpdate<MigrationProgress, [ApproveOptions]>('approve');
export const rollbackUpdate = defineUpdate<MigrationProgress, [RollbackOptions]>('rollback');
/** Like Argo Rollouts' promote: the next step now, or with `full` all traffic to the target now. */
export const promoteUpdate = defineUpdate<MigrationProgress, [PromoteOptions]>('promote');
export const progressQuery = defineQuery<MigrationProgress>('progress');
