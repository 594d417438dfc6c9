// The request schema as JSON Schema, for services in other languages that start the `migrateCluster`
// workflow by its type name with plain JSON. Generated from the zod schema (the one source of truth);
// schema/migration-request.schema.json is its committed copy, kept in step by a unit test
// (`npm run schema` rewrites it). Cross-field rules (weights increasing, include/exclude overlap...) are
// not expressible here; the workflow checks them and names the field.
import { z } from 'zod';
import { migrationRequestSchema } from './request.js';

export const REQUEST_SCHEMA_ID = 'https://kubeferry.dev/schema/migration-request.schema.json';

/** A zod schema as a JSON Schema file of schema/: what clients write (the input side), named and described. */
export function jsonSchemaFile(schema: z.ZodType, meta: { $id: string; title: string; description: string }): Record<string, unknown> {
  return { ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), ...meta };
}

export function requestJsonSchema(): Record<string, unknown> {
  return jsonSchemaFile(migrationRequestSchema, {
    $id: REQUEST_SCHEMA_ID,
    title: 'kubeferry migration request',
    description: 'Input of the migrateCluster workflow (task queue "kubeferry" by default; the workflow id is the migration id).',
  });
}
