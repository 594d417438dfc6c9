// A migration's state: the progress that operators read (the progress query, update answers, the result),
// and what their messages change beside it; with the small rules that keep the progress bounded.
import type { MigrationRequest } from '../../domain/request.js';
import type { MigrationPhase, MigrationProgress, RollbackOptions } from '../messages.js';

/** What the operator's messages change, beside the progress they can read. */
export interface Control {
  /** The highest step number approved so far. */
  approved: number;
  rollback?: RollbackOptions;
  pausedAt?: number;
  /** Workflow time (ms) at which the grayscale threshold moves all traffic; pauses push it back. */
  cutoverDeadline?: number;
  /** An operator's `promote --full`: all traffic to the target now. */
  promoteFull?: boolean;
  /** An operator's `promote`: the step after this one is due now. */
  promoteNext?: number;
}

/** The progress of a migration that has not started yet. */
export function newProgress(migrationId: string): MigrationProgress {
  return {
    migrationId,
    task: 'migrate',
    phase: 'validating',
    paused: false,
    rollbackRequested: false,
    objects: { backedUp: 0, restored: 0, skipped: 0, updated: 0, differing: 0, failed: 0, total: 0 },
    waves: { done: 0, total: 0 },
    readiness: { ready: 0, total: 0, percent: 0 },
    routes: [],
    step: { index: 0, total: 0 },
    errors: [],
    differences: [],
  };
}

/** Keeps the newest messages only: the progress query and the result stay small on long runs. */
const KEPT_MESSAGES = 50;
export function remember(list: string[], messages: readonly string[]): void {
  list.push(...messages);
  list.splice(0, Math.max(0, list.length - KEPT_MESSAGES));
}

export function routeProgress(progress: MigrationProgress, name: string) {
  return progress.routes.find((r) => r.name === name)!;
}

export function isFinal(phase: MigrationPhase): boolean {
  return phase === 'completed' || phase === 'rolled-back' || phase === 'failed';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

/** Only a migrate task with routes moves traffic; backup, restore and a migrate without routes stop at readiness. */
export const movesTraffic = (request: MigrationRequest) => request.task === 'migrate' && request.routes.length > 0;
