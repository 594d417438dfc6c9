// Exit codes and messages of the command line: scripts branch on the code, people read the message.
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ConfigError } from '../config/worker-config.js';
import { InvalidRequestError } from '../domain/request.js';
import { CleanupRefusedError, MigrationIdTakenError } from '../client.js';
import { FAILURE, INPUT_FAILURES } from '../domain/failures.js';

export const EXIT = {
  ok: 0,
  /** The migration failed or was rolled back, or the command failed at runtime. */
  failed: 1,
  /** Wrong command line: unknown command or option, missing argument. */
  usage: 2,
  /** The request, a request file or the config file is invalid. */
  invalid: 3,
  /** No migration or backup with that id. */
  notFound: 4,
  /** Temporal could not be reached. */
  unreachable: 5,
  /** The migration refused the operator message (nothing to approve, not paused, already finished...). */
  rejected: 6,
} as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'CliError';
  }
}

function rootCause(err: unknown): unknown {
  let e = err;
  while (e instanceof Error && e.cause && !(e instanceof ApplicationFailure)) e = e.cause;
  return e;
}

/** The exit code and the message for an error thrown by a command. */
export function describeError(err: unknown): { exitCode: number; message: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message };
  if (err instanceof MigrationIdTakenError) return { exitCode: EXIT.invalid, message: err.message };
  if (err instanceof CleanupRefusedError) return { exitCode: EXIT.rejected, message: `refused: ${err.message}` };
  if (err instanceof InvalidRequestError || err instanceof ConfigError) return { exitCode: EXIT.invalid, message: err.message };
  if (err instanceof WorkflowNotFoundError) {
    // An update to a closed workflow fails as not found, with this message.
    if (/already completed/.test(err.message)) return { exitCode: EXIT.rejected, message: `refused: migration "${err.workflowId}" has already ended (kubeferry status ${err.workflowId})` };
    return { exitCode: EXIT.notFound, message: `no migration with id "${err.workflowId}" (kubeferry list shows them)` };
  }
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = rootCause(err);
    return { exitCode: EXIT.rejected, message: `refused: ${cause instanceof Error ? cause.message : err.message}` };
  }
  if (err instanceof WorkflowFailedError) {
    const cause = rootCause(err);
    const type = cause instanceof ApplicationFailure ? cause.type : undefined;
    const message = `the migration failed: ${cause instanceof Error ? cause.message : String(cause)}`;
    if (type === FAILURE.BackupNotFound) return { exitCode: EXIT.notFound, message };
    return { exitCode: type && INPUT_FAILURES.has(type) ? EXIT.invalid : EXIT.failed, message };
  }
  return { exitCode: EXIT.failed, message: err instanceof Error ? err.message : String(err) };
}
