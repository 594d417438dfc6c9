// Bulk activities stop when they are cancelled (a rollback, a pause of a readiness wait): between chunks
// and pages, never in the middle of a write, so that once the activity has settled nothing more of it
// lands. The cancellation arrives with a heartbeat, so each check follows one.
import { CancelledFailure, Context } from '@temporalio/activity';

/** Heartbeats `details`, then throws CancelledFailure when the activity was asked to stop. */
export function heartbeatOrStop(details?: unknown): void {
  const ctx = Context.current();
  ctx.heartbeat(details);
  stopIfCancelled();
}

/** Throws CancelledFailure when the activity was asked to stop. */
export function stopIfCancelled(): void {
  const signal = Context.current().cancellationSignal;
  if (signal.aborted) {
    throw signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure(`stopped: ${String(signal.reason ?? 'the activity was cancelled')}`);
  }
}
