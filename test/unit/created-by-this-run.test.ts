// Which object found in the target a resumed restore counts as its own creation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createdByThisRun } from '../../src/activities/restore.js';
import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION, PRE_EXISTING_ANNOTATION } from '../../src/objects/labels.js';

const found = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({ kind: 'ConfigMap', metadata: { name: 'c', labels, annotations } });
const run = { runId: 'run-1', resuming: true };

describe('an object a resumed restore finds in the target', () => {
  it('is its own creation when it carries the migration label and this run (or, from before runs were recorded, when resuming)', () => {
    assert.equal(createdByThisRun(found({ [MIGRATION_ID_LABEL]: 'm' }, { [MIGRATION_RUN_ANNOTATION]: 'run-1' }), 'm', run), true);
    assert.equal(createdByThisRun(found({ [MIGRATION_ID_LABEL]: 'm' }), 'm', run), true);
    assert.equal(createdByThisRun(found({ [MIGRATION_ID_LABEL]: 'm' }), 'm', { ...run, resuming: false }), false);
    assert.equal(createdByThisRun(found({ [MIGRATION_ID_LABEL]: 'm' }, { [MIGRATION_RUN_ANNOTATION]: 'run-0' }), 'm', run), false);
    assert.equal(createdByThisRun(found({ [MIGRATION_ID_LABEL]: 'other' }, { [MIGRATION_RUN_ANNOTATION]: 'run-1' }), 'm', run), false);
  });

  it('is not its creation when this run updated it over (existingObjects: update) before the interruption: it existed before', () => {
    const updated = found({ [MIGRATION_ID_LABEL]: 'm' }, { [MIGRATION_RUN_ANNOTATION]: 'run-1', [PRE_EXISTING_ANNOTATION]: 'true' });
    assert.equal(createdByThisRun(updated, 'm', run), false);
  });
});
