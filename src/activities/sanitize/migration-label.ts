import { MIGRATION_ID_LABEL } from '../labels.js';
import type { SanitizeRule } from './index.js';

/** Every restored object carries the migration id, so it can be traced and cleaned up by label. */
export const migrationLabel: SanitizeRule = (obj, ctx) => {
  obj.metadata ??= {};
  obj.metadata.labels = { ...obj.metadata.labels, [MIGRATION_ID_LABEL]: ctx.migrationId };
};
