// The worker's policy on the real stack: a request outside it is refused before anything is read or
// written, naming the rule; one within it runs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startMigration } from '../../src/client.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { ObjectStore } from '../../src/store/object-store.js';
import { failureOf, startStackWorker, type StackWorker } from '../support/stack.js';

const run = `wp-${randomBytes(3).toString('hex')}`;
const ns = `${run}-app`;
const secured = `${run}-vault`;
const allowedPrefix = `test/${run}/allowed`;
let stack: StackWorker;

const request = (extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput => ({
  task: 'backup', source: { cluster: 'source' }, target: { cluster: 'target' },
  storage: { bucket: 'kubeferry', prefix: allowedPrefix }, namespaces: { include: [ns] }, ...extra,
});
const refusal = async (id: string, req: MigrationRequestInput) =>
  failureOf((await startMigration(stack.client, stack.config.temporal.taskQueue, `${run}-${id}`, req)).result());

describe("the worker's policy on the local stack", () => {
  before(async () => {
    stack = await startStackWorker(run, (config) => {
      config.policy = {
        migrations: [{ source: 'source', target: 'target' }],
        storage: [{ bucket: 'kubeferry', prefix: allowedPrefix }],
        protectedNamespaces: [`${run}-vault*`],
        allowUpdate: false,
        file: 'the test config',
      };
    });
    for (const name of [ns, secured]) {
      await stack.source.request('POST', '/api/v1/namespaces', { body: { metadata: { name } } });
      await stack.source.request('POST', `/api/v1/namespaces/${name}/configmaps`, { body: { metadata: { name: 'c' }, data: { k: 'v' } } });
    }
  });
  after(async () => {
    for (const name of [ns, secured]) await stack?.source.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined);
    await stack?.stop();
  });

  it('runs a request within the policy', async () => {
    const result = await (await startMigration(stack.client, stack.config.temporal.taskQueue, `${run}-ok`, request())).result();
    assert.equal(result.status, 'Completed');
  });
  it('refuses a pair of clusters, a bucket prefix and existingObjects "update" outside it before anything runs', async () => {
    const pair = await refusal('pair', request({ task: 'migrate', source: { cluster: 'target' }, target: { cluster: 'source' } }));
    assert.equal(pair.type, 'PolicyDenied');
    assert.match(pair.message, /^refused by this worker's policy: target -> source is not allowed by policy\.migrations in the test config \(source -> target\)/);
    const prefix = await refusal('prefix', request({ storage: { bucket: 'kubeferry', prefix: `test/${run}/elsewhere` } }));
    assert.match(prefix.message, new RegExp(`s3://kubeferry/test/${run}/elsewhere is not allowed by policy\\.storage`));
    const update = await refusal('update', request({ task: 'migrate', existingObjects: 'update' }));
    assert.match(update.message, /existingObjects "update" is not allowed by policy\.allowUpdate/);
    const store = new ObjectStore(stack.config.storage);
    assert.deepEqual(await store.list('kubeferry', `test/${run}/elsewhere/`), []);
  });
  it('refuses a selection that reaches a protected namespace, and writes nothing of it', async () => {
    const failure = await refusal('protected', request({ namespaces: { include: [`${run}-*`] } }));
    assert.equal(failure.type, 'PolicyDenied');
    assert.match(failure.message, new RegExp(`namespace\\(s\\) ${secured} are protected by policy\\.protectedNamespaces`));
    const store = new ObjectStore(stack.config.storage);
    assert.deepEqual(await store.list('kubeferry', `${allowedPrefix}/backups/${run}-protected/`), []);
  });
});
