// Writes schema/migration-request.schema.json from the request schema (src/domain/request.ts).
import fs from 'node:fs';
import path from 'node:path';
import { requestJsonSchema } from '../src/domain/request-json-schema.js';

const file = path.resolve(import.meta.dirname, '../schema/migration-request.schema.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, `${JSON.stringify(requestJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
