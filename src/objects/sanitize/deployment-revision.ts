import type { SanitizeRule } from './rule.js';

/** The rollout revision counts the source's ReplicaSets; the target starts its own history at 1. */
export const deploymentRevision: SanitizeRule = (obj) => {
  if (obj.kind !== 'Deployment') return;
  delete obj.metadata?.annotations?.['deployment.kubernetes.io/revision'];
};
