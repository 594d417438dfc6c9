import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION } from '../labels.js';
import type { SanitizeRule } from './rule.js';

/**
 * Every restored object carries the migration id, so it can be traced and cleaned up by label, and the
 * run that created it, so that a later run of the same id never takes it for its own.
 */
export const migrationLabel: SanitizeRule = (obj, ctx) => {
  obj.metadata ??= {};
  obj.metadata.labels = { ...obj.metadata.labels, [MIGRATION_ID_LABEL]: ctx.migrationId };
  // Whatever the source carried of kubeferry's own bookkeeping is not this run's.
  const { [MIGRATION_RUN_ANNOTATION]: _earlier, ...annotations } = obj.metadata.annotations ?? {};
  obj.metadata.annotations = { ...annotations, ...(ctx.runId ? { [MIGRATION_RUN_ANNOTATION]: ctx.runId } : {}) };
  if (Object.keys(obj.metadata.annotations).length === 0) delete obj.metadata.annotations;
};
