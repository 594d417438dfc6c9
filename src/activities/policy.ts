// The worker's policy (worker config `policy`), enforced by the activities that act on what it limits.
import { ApplicationFailure } from '@temporalio/activity';
import { policyViolations, type PolicyFacts, type WorkerPolicy } from '../config/worker-policy.js';
import { FAILURE } from '../domain/failures.js';

/** Throws PolicyDenied, naming every rule the facts break; a worker without a policy allows all. */
export function enforcePolicy(policy: WorkerPolicy | undefined, facts: PolicyFacts): void {
  const violations = policyViolations(policy, facts);
  if (violations.length) {
    throw ApplicationFailure.nonRetryable(`refused by this worker's policy: ${violations.join('; ')}. Nothing was read or written.`, FAILURE.PolicyDenied);
  }
}
