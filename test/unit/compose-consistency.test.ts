// docker-compose.yml cannot be run here (no Docker engine), so it is checked against the code instead:
// the search attributes the workflow writes, the environment the worker reads, and the local stack's ports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const compose = parse(read('docker-compose.yml')) as { services: Record<string, { command?: string[]; environment?: Record<string, string>; ports?: string[] }> };
const expected = Object.values(SEARCH_ATTRIBUTES).map((k) => `${k.name}=${k.type === 'INT' ? 'Int' : 'Keyword'}`).sort();

describe('docker-compose.yml and the local stack agree with the code', () => {
  it('register exactly the search attributes the workflow writes', () => {
    const command = compose.services['temporal-admin-tools']!.command!.join(' ');
    const inCompose = [...command.matchAll(/--name (\w+) --type (\w+)/g)].map(([, n, t]) => `${n}=${t}`).sort();
    assert.deepEqual(inCompose, expected);
    const upSh = read('scripts/stack/up.sh').match(/SEARCH_ATTRIBUTES=\(([^)]*)\)/)![1]!.split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(upSh, expected);
  });

  it('give the worker the environment it reads', () => {
    const env = compose.services.worker!.environment!;
    const code = [read('src/worker.ts'), read('src/config/worker-config.ts')].join('\n');
    for (const name of ['TEMPORAL_ADDRESS', 'KUBEFERRY_CONFIG', 'S3_ENDPOINT']) {
      assert.ok(name in env, `worker service lacks ${name}`);
      assert.ok(code.includes(`process.env.${name}`), `the worker does not read ${name}`);
    }
    assert.match(env.TEMPORAL_ADDRESS!, /^temporal:7233$/);
    assert.match(env.S3_ENDPOINT!, /^http:\/\/versitygw:7070$/);
  });

  it('publish the same ports as the local stack, on 127.0.0.1 only', () => {
    const lib = read('scripts/stack/lib.sh');
    const port = (name: string) => lib.match(new RegExp(`${name}="\\$\\{${name}:-(\\d+)\\}"`))![1];
    assert.deepEqual(compose.services.temporal!.ports, [`127.0.0.1:${port('TEMPORAL_PORT')}:7233`]);
    assert.deepEqual(compose.services['temporal-ui']!.ports, [`127.0.0.1:${port('TEMPORAL_UI_PORT')}:8080`]);
    assert.deepEqual(compose.services.versitygw!.ports, [`127.0.0.1:${port('S3_PORT')}:7070`]);
  });
});
