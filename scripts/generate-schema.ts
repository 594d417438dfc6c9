// Writes the JSON Schemas of schema/ from their zod schemas: the migration request
// (src/domain/request.ts) and the worker config file (src/config/worker-config.ts).
import fs from 'node:fs';
import path from 'node:path';
import { requestJsonSchema } from '../src/domain/request-json-schema.js';
import { workerConfigJsonSchema } from '../src/config/worker-config.js';

for (const [name, schema] of [['migration-request', requestJsonSchema()], ['worker-config', workerConfigJsonSchema()]] as const) {
  const file = path.resolve(import.meta.dirname, `../schema/${name}.schema.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
