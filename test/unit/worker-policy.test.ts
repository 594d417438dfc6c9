import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { policyViolations, type WorkerPolicy } from '../../src/config/worker-policy.js';
import { loadWorkerConfig } from '../../src/config/worker-config.js';

const policy: WorkerPolicy = {
  migrations: [{ source: 'prod-a', target: 'prod-b' }, { source: 'prod-a', target: 'dr' }],
  storage: [{ bucket: 'backups', prefix: 'teams/shop' }],
  protectedNamespaces: ['payments', 'vault-*'],
  allowUpdate: false,
  file: '/etc/kubeferry/config.yaml',
};

describe("the worker's policy", () => {
  it('allows everything within it, and everything when there is none', () => {
    assert.deepEqual(policyViolations(policy, { source: 'prod-a', target: 'dr', storage: { bucket: 'backups', prefix: 'teams/shop/nightly' }, namespaces: ['shop'], existingObjects: 'skip' }), []);
    assert.deepEqual(policyViolations(undefined, { source: 'x', target: 'y', existingObjects: 'update', namespaces: ['payments'] }), []);
  });
  it('refuses a pair it does not list, naming the rule, where it is written, and what it allows', () => {
    assert.deepEqual(policyViolations(policy, { source: 'prod-b', target: 'prod-a' }),
      ['prod-b -> prod-a is not allowed by policy.migrations in /etc/kubeferry/config.yaml (prod-a -> prod-b, prod-a -> dr)']);
    assert.deepEqual(policyViolations(policy, { source: 'prod-a' }), []);
    assert.match(policyViolations(policy, { target: 'prod-a' })[0]!, /^target prod-a is not allowed by policy\.migrations/);
  });
  it('refuses a bucket or a prefix outside its storage, segment by segment', () => {
    assert.match(policyViolations(policy, { storage: { bucket: 'other', prefix: 'teams/shop' } })[0]!, /s3:\/\/other\/teams\/shop is not allowed by policy\.storage/);
    assert.equal(policyViolations(policy, { storage: { bucket: 'backups', prefix: 'teams/shopping' } }).length, 1);
    assert.equal(policyViolations(policy, { storage: { bucket: 'backups', prefix: 'teams' } }).length, 1);
    assert.equal(policyViolations(policy, { storage: { bucket: 'backups', prefix: 'teams/shop/' } }).length, 0);
  });
  it('refuses protected namespaces (globs) and existingObjects "update" when it is not allowed', () => {
    assert.deepEqual(policyViolations(policy, { namespaces: ['shop', 'vault-prod', 'payments'], existingObjects: 'update' }), [
      'namespace(s) vault-prod, payments are protected by policy.protectedNamespaces in /etc/kubeferry/config.yaml',
      'existingObjects "update" is not allowed by policy.allowUpdate in /etc/kubeferry/config.yaml',
    ]);
  });
  it('is read from the worker config, strictly', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-policy-'));
    const file = path.join(dir, 'config.yaml');
    const base = 'clusters:\n  a: { kubeconfig: a.yaml }\n';
    fs.writeFileSync(file, `${base}policy:\n  migrations: [{ source: a, target: b }]\n  allowUpdate: false\n`);
    assert.deepEqual(loadWorkerConfig(file).policy, { migrations: [{ source: 'a', target: 'b' }], allowUpdate: false, file });
    fs.writeFileSync(file, `${base}policy:\n  allowUpdates: false\n`);
    assert.throws(() => loadWorkerConfig(file), /policy: .*allowUpdates/);
  });
});
