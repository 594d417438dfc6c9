import type { SanitizeRule } from './rule.js';

/**
 * Metadata the source API server set: identity, versions, timestamps and field ownership belong to that
 * server, and the target refuses or overwrites them. `generateName` goes too once the object has a name
 * (the target must create it under that name, not a new random one); an object without a name keeps it.
 * Owner references are not dropped here: owner-references.ts rewrites or drops them.
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
  if (m.name) delete m.generateName;
};
