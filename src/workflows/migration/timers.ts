// The migration's waits: while paused, and timers of unpaused time that the grayscale threshold (or a
// promote) can cut short. Each timer carries a summary the Web UI shows.
import { CancellationScope, condition, sleep } from '@temporalio/workflow';
import type { MigrationProgress } from '../messages.js';

/** Blocks while the operator has paused the migration. */
export async function whileNotPaused(progress: MigrationProgress): Promise<void> {
  if (progress.paused) await condition(() => !progress.paused);
}

/** When the grayscale threshold cuts a wait short: whether it is due, and how long until it is. */
export interface Deadline {
  due(): boolean;
  within(): number | undefined;
}

/**
 * Sleeps `ms` of unpaused time on a timer the Web UI shows with `summary`: a pause stops the clock,
 * resume continues with what was left; a `deadline` ends the sleep early (the grayscale threshold).
 */
export async function pausableSleep(progress: MigrationProgress, ms: number, summary: string, deadline?: Deadline): Promise<void> {
  let remaining = ms;
  while (remaining > 0 && !deadline?.due()) {
    await whileNotPaused(progress);
    const started = Date.now();
    const slice = Math.max(1, Math.min(remaining, deadline?.within() ?? remaining));
    const timer = new CancellationScope();
    try {
      await timer.run(() => Promise.race([sleep(slice, { summary }), condition(() => progress.paused || Boolean(deadline?.due()))]));
    } finally {
      timer.cancel();
    }
    remaining -= Date.now() - started;
  }
}
