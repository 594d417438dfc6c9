import type { SanitizeRule } from './rule.js';

/**
 * A Pod's `spec.nodeName` names the source node it was bound to. Set at creation it bypasses the
 * target's scheduler (and its nodes may be named differently), so it goes and the target schedules the
 * Pod. What the user asked for, nodeSelector, affinity and tolerations, stays. Pod templates of
 * workloads never carry a bound node name and are left alone.
 */
export const podNodeName: SanitizeRule = (obj) => {
  if (obj.kind !== 'Pod') return;
  const spec = obj.spec as { nodeName?: string } | undefined;
  if (spec) delete spec.nodeName;
};
