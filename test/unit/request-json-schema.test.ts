import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { requestJsonSchema } from '../../src/domain/request-json-schema.js';

const committed = path.resolve(import.meta.dirname, '../../schema/migration-request.schema.json');

describe('JSON Schema of the request', () => {
  it('is in step with the zod schema (run `npm run schema` after changing the request)', () => {
    assert.deepEqual(JSON.parse(fs.readFileSync(committed, 'utf8')), JSON.parse(JSON.stringify(requestJsonSchema())));
  });

  it('describes what a client in another language needs', () => {
    const schema = requestJsonSchema() as { required: string[]; properties: Record<string, { properties?: Record<string, unknown>; items?: { oneOf?: { properties: { router: { const: string } } }[] } }> };
    assert.deepEqual([...schema.required].sort(), ['namespaces', 'source', 'storage', 'target']);
    const routers = schema.properties.routes!.items!.oneOf!.map((r) => r.properties.router.const).sort();
    assert.deepEqual(routers, ['gateway-api', 'haproxy', 'ingress-nginx']);
    assert.ok(schema.properties.traffic!.properties!.cutoverAfter);
    assert.equal((schema as unknown as { additionalProperties: boolean }).additionalProperties, false);
  });
});
