import type { SanitizeRule } from './index.js';

/**
 * Metadata the source API server set: identity, versions, timestamps and field ownership belong to that
 * server, and the target refuses or overwrites them. Owner references point at source uids that do not
 * exist in the target (controllers re-adopt their children there).
 */
export const serverSetMetadata: SanitizeRule = (obj) => {
  const m = obj.metadata;
  if (!m) return;
  delete m.uid;
  delete m.resourceVersion;
  delete m.generation;
  delete m.creationTimestamp;
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete m.managedFields;
  delete m.selfLink;
  delete m.ownerReferences;
  delete m.generateName;
};
