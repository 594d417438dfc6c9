// The worker config file: checked against its zod schema with errors that name the key and the value,
// its committed JSON Schema, environment files and the environment over the file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadWorkerConfig, readEnvFile, workerConfigJsonSchema } from '../../src/config/worker-config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-worker-config-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const f = path.join(dir, `config-${n++}.yaml`);
  fs.writeFileSync(f, text);
  return f;
};
/** The problem lines of a refused config. */
const problems = (text: string) => {
  try {
    loadWorkerConfig(file(text));
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config was accepted');
};

/** Runs with some environment variables set (or unset), restoring them after. */
function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}
const NO_TEMPORAL_ENV = { TEMPORAL_ADDRESS: undefined, TEMPORAL_NAMESPACE: undefined, KUBEFERRY_TASK_QUEUE: undefined, S3_ENDPOINT: undefined };

describe('the worker config file', () => {
  it('parses a valid file, resolving paths against its folder and filling the defaults', () => {
    const config = withEnv(NO_TEMPORAL_ENV, () => loadWorkerConfig(file([
      'clusters:',
      '  source: { kubeconfig: kube/source.yaml, context: prod, qps: 50, burst: 100, concurrency: 8 }',
      '  target: { kubeconfig: /abs/target.yaml }',
      'storage: { endpoint: "https://s3.example", credentialsFile: s3.env, bucket: b, prefix: p }',
      'backupEncryption: { keyFile: backup-key }',
      'routes: { web: { router: haproxy, backend: web, workloads: [shop/web] } }',
      'defaults: { traffic: { stepInterval: 30s } }',
    ].join('\n'))));
    assert.deepEqual(config.clusters, {
      source: { kubeconfig: path.join(dir, 'kube/source.yaml'), context: 'prod', qps: 50, burst: 100, concurrency: 8 },
      target: { kubeconfig: '/abs/target.yaml' },
    });
    assert.deepEqual(config.storage, { endpoint: 'https://s3.example', region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true, credentialsFile: path.join(dir, 's3.env') });
    assert.deepEqual(config.backupEncryption, { keyFile: path.join(dir, 'backup-key') });
    assert.deepEqual(config.temporal, { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'kubeferry' });
  });

  it('refuses a value of the wrong type, naming its key and the value found', () => {
    const message = problems('clusters:\n  source: { kubeconfig: k.yaml, qps: "50", burst: 1.5 }\n');
    assert.match(message, /clusters\.source\.qps: expected a number, got "50"/);
    assert.match(message, /clusters\.source\.burst: expected a whole number, got 1\.5/);
    assert.match(message, /config-\d+\.yaml is not valid/);
    assert.match(message, /schema\/worker-config\.schema\.json/);
  });

  it('refuses an unknown key, naming it and where it is', () => {
    const message = problems('clusters:\n  source: { kubeconfig: k.yaml, qsp: 5 }\ntemporl: { address: x:1 }\n');
    assert.match(message, /clusters\.source: unknown key "qsp"/);
    assert.match(message, /- unknown key "temporl"/);
  });

  it('refuses a file without clusters, a list where a mapping belongs, and a value out of range', () => {
    assert.match(problems('clusters: {}\n'), /clusters: expected at least one cluster/);
    assert.match(problems('storage: {}\n'), /clusters: expected a mapping, got nothing/);
    assert.match(problems('clusters: [a]\n'), /clusters: expected a mapping, got a list/);
    assert.match(problems('clusters:\n  s: { kubeconfig: k, concurrency: 1000 }\n'), /clusters\.s\.concurrency: expected at most 512, got 1000/);
    assert.match(problems('clusters:\n  s: { kubeconfig: "" }\n'), /clusters\.s\.kubeconfig: expected a kubeconfig file path.*, got an empty string/);
  });

  it('says where YAML that does not parse breaks', () => {
    assert.match(problems('clusters: {a: [\n'), /is not valid YAML/);
  });

  it('lets the environment name Temporal and the S3 endpoint over the file', () => {
    const config = withEnv({ TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'prod', KUBEFERRY_TASK_QUEUE: 'kf-prod', S3_ENDPOINT: 'https://s3.other' }, () =>
      loadWorkerConfig(file('clusters: { s: { kubeconfig: k } }\nstorage: { endpoint: "https://s3.file" }\ntemporal: { address: "file:7233", namespace: file, taskQueue: file }\n')));
    assert.deepEqual(config.temporal, { address: 'temporal.example:7233', namespace: 'prod', taskQueue: 'kf-prod' });
    assert.equal(config.storage.endpoint, 'https://s3.other');
    const fromFile = withEnv(NO_TEMPORAL_ENV, () => loadWorkerConfig(file('clusters: { s: { kubeconfig: k } }\ntemporal: { address: "file:7233", namespace: ns, taskQueue: q }\n')));
    assert.deepEqual(fromFile.temporal, { address: 'file:7233', namespace: 'ns', taskQueue: 'q' });
  });
});

describe('the JSON Schema of the worker config', () => {
  it('is in step with the zod schema (run `npm run schema` after changing the config)', () => {
    const committed = path.resolve(import.meta.dirname, '../../schema/worker-config.schema.json');
    assert.deepEqual(JSON.parse(fs.readFileSync(committed, 'utf8')), JSON.parse(JSON.stringify(workerConfigJsonSchema())));
  });

  it('refuses unknown keys, as the worker does', () => {
    const schema = workerConfigJsonSchema() as { additionalProperties: unknown; required: string[] };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['clusters']);
  });
});

describe('environment files', () => {
  it('are read as Node reads .env files: comments, quotes and blank lines', () => {
    const f = path.join(dir, 'x.env');
    fs.writeFileSync(f, '# S3 keys\nAWS_ACCESS_KEY_ID=abc\n\nAWS_SECRET_ACCESS_KEY="s e c"\nEMPTY=\n');
    assert.deepEqual(readEnvFile(f), { AWS_ACCESS_KEY_ID: 'abc', AWS_SECRET_ACCESS_KEY: 's e c', EMPTY: '' });
  });
});
