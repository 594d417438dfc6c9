import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION } from '../labels.js';
import type { SanitizeRule } from './rule.js';

/** Every label and annotation of kubeferry's own starts with this ("kubeferry.io/"). */
const KUBEFERRY_PREFIX = MIGRATION_ID_LABEL.slice(0, MIGRATION_ID_LABEL.indexOf('/') + 1);

/**
 * Every restored object carries the migration id, so it can be traced and cleaned up by label, and the
 * run that created it, so that a later run of the same id never takes it for its own.
 */
export const migrationLabel: SanitizeRule = (obj, ctx) => {
  obj.metadata ??= {};
  // Whatever the source carried of kubeferry's own bookkeeping (the source was itself a migration's
  // target) is not this run's: an earlier migration's id, run or pre-existing mark would make cleanup
  // delete, or spare, the wrong objects.
  const own = (key: string) => key.startsWith(KUBEFERRY_PREFIX);
  const labels = Object.fromEntries(Object.entries(obj.metadata.labels ?? {}).filter(([k]) => !own(k)));
  const annotations = Object.fromEntries(Object.entries(obj.metadata.annotations ?? {}).filter(([k]) => !own(k)));
  obj.metadata.labels = { ...labels, [MIGRATION_ID_LABEL]: ctx.migrationId };
  obj.metadata.annotations = { ...annotations, ...(ctx.runId ? { [MIGRATION_RUN_ANNOTATION]: ctx.runId } : {}) };
  if (Object.keys(obj.metadata.annotations).length === 0) delete obj.metadata.annotations;
};
