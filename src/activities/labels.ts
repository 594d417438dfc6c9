/** Every object kubeferry restores carries this label with the migration id. */
export const MIGRATION_ID_LABEL = 'kubeferry.io/migration-id';
