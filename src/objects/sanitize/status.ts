import type { SanitizeRule } from './rule.js';

/** Status is observed state of the source; the target's controllers write their own. */
export const dropStatus: SanitizeRule = (obj) => {
  delete obj.status;
};
