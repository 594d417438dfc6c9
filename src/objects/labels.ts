/** Every object kubeferry restores carries this label with the migration id. */
export const MIGRATION_ID_LABEL = 'kubeferry.io/migration-id';

/**
 * The run (workflow run id) of the migration that created the object: a migration id started again is
 * another run, and never counts the objects of an earlier run as its own.
 */
export const MIGRATION_RUN_ANNOTATION = 'kubeferry.io/migration-run';

/**
 * Set on objects that existed in the target before the migration and were updated over
 * (existingObjects: update): a rollback's cleanup leaves them, it deletes only what the migration created.
 */
export const PRE_EXISTING_ANNOTATION = 'kubeferry.io/pre-existing';
