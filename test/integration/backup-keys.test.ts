// Backup keys on the real stack: a key is rotated (a second key appended to the file) and the backups
// taken with the first stay restorable; a worker that lost the old key says which key it needs; a key
// file others may change is refused before the worker starts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMigration } from '../../src/client.js';
import { ConfigError } from '../../src/config/worker-config.js';
import { derivedKeyId } from '../../src/config/key-file.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { ObjectStore } from '../../src/store/object-store.js';
import type { BackupManifest } from '../../src/store/backup-format.js';
import { failureOf, startStackWorker, type StackWorker } from '../support/stack.js';

const run = `bk-${randomBytes(3).toString('hex')}`;
const ns = `${run}-src`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kf-${run}-`));
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const writeKeys = (name: string, lines: string[], mode = 0o600) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode });
  fs.chmodSync(file, mode);
  return file;
};
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };
const request = (task: 'backup' | 'restore', backupId: string, into?: string): MigrationRequestInput => ({
  task, backupId, source: { cluster: 'source' }, target: { cluster: 'target' }, storage,
  namespaces: { include: [ns], ...(into ? { mapping: [`${ns}:${into}`] } : {}) },
  readiness: { pollInterval: '1s', timeout: '1m' },
} as MigrationRequestInput);

let workers: StackWorker[] = [];
const worker = async (name: string, keyFile: string) => {
  const w = await startStackWorker(`${run}-${name}`, (config) => {
    config.backupEncryption = { keyFile };
  });
  workers.push(w);
  return w;
};
const runOn = async (w: StackWorker, id: string, req: MigrationRequestInput) =>
  (await startMigration(w.client, w.config.temporal.taskQueue, `${run}-${id}`, req)).result();

describe('backup keys on the local stack', () => {
  let first: StackWorker;
  before(async () => {
    first = await worker('a', writeKeys('a', [keyA.toString('hex')]));
    await first.source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    await first.source.request('POST', `/api/v1/namespaces/${ns}/secrets`, { body: { metadata: { name: 'db' }, stringData: { password: `pw-${run}` } } });
    await first.source.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'app' }, data: { mode: 'old' } } });
  });
  after(async () => {
    const cleanup = workers[0];
    for (const name of [ns, `${run}-r1`]) {
      await cleanup?.source.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined);
      await cleanup?.target.request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined);
    }
    for (const w of workers) await w.stop();
    workers = [];
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a rotated key (a second one appended) signs and encrypts new backups, and an old backup is still restored', async () => {
    const old = await runOn(first, 'old', request('backup', `${run}-old`));
    assert.equal(old.status, 'Completed');

    const rotated = await worker('ab', writeKeys('ab', [keyA.toString('hex'), `new=${keyB.toString('hex')}`]));
    assert.equal((await runOn(rotated, 'new', request('backup', `${run}-new`))).status, 'Completed');
    const store = new ObjectStore(rotated.config.storage);
    const manifestOf = async (id: string) =>
      JSON.parse((await store.get(storage.bucket, `${storage.prefix}/backups/${id}/manifest.json`))!.toString()) as BackupManifest;
    const [oldManifest, newManifest] = [await manifestOf(`${run}-old`), await manifestOf(`${run}-new`)];
    assert.equal(oldManifest.authentication?.keyId, derivedKeyId(keyA));
    assert.equal(newManifest.authentication?.keyId, 'new');
    assert.equal(newManifest.archives.find((a) => a.type === 'secrets')?.encryption?.keyId, 'new');

    const restored = await runOn(rotated, 'restore-old', request('restore', `${run}-old`, `${run}-r1`));
    assert.equal(restored.status, 'Completed');
    const secret = await rotated.target.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${run}-r1/secrets/db`);
    assert.equal(Buffer.from(secret.data.password!, 'base64').toString(), `pw-${run}`);
  });

  it('a worker without the old key refuses the old backup before writing, naming the key it needs', async () => {
    const onlyNew = await worker('b', writeKeys('b', [`new=${keyB.toString('hex')}`]));
    const failure = await failureOf(runOn(onlyNew, 'restore-lost', request('restore', `${run}-old`, `${run}-r2`)));
    assert.equal(failure.type, 'EncryptionKeyMissing');
    assert.match(failure.message, new RegExp(`authenticated with backup key "${derivedKeyId(keyA)}", which is not in .*/b`));
    await assert.rejects(onlyNew.target.request('GET', `/api/v1/namespaces/${run}-r2`), /404|not found/i);
  });

  it('refuses to start with a backup key file that other users may change', async () => {
    await assert.rejects(worker('loose', writeKeys('loose', [keyA.toString('hex')], 0o666)),
      (err: unknown) => err instanceof ConfigError && /backup key file .*loose may be changed by any user \(mode 666\): run 'chmod 600/.test(err.message));
  });
});
