// Messages an operator sends to a running migration, and what it reports back.
import { defineQuery, defineSignal } from '@temporalio/workflow';

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
  readiness: { ready: number; total: number; percent: number };
  routes: RouteProgress[];
  step: { index: number; total: number; nextAt?: string };
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
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const rollbackSignal = defineSignal<[RollbackOptions?]>('rollback');
export const progressQuery = defineQuery<MigrationProgress>('progress');
