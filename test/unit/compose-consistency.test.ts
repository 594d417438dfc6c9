// docker-compose.yml cannot be run here (no Docker engine), so it is checked against the code instead:
// the search attributes the workflow writes, the environment the worker reads, the local stack's ports,
// the worker's Dockerfile, and docker-compose's own `config`, which needs no engine (the standalone CLI
// is built from its Go module by scripts/stack/install.sh, like every other component).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';
import { TEMPORAL_ENV } from '../../src/config/temporal.js';

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
}

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const expected = Object.values(SEARCH_ATTRIBUTES).map((k) => `${k.name}=${k.type === 'INT' ? 'Int' : 'Keyword'}`).sort();
const versions = Object.fromEntries([...read('scripts/stack/versions.env').matchAll(/^(\w+)=(\S+)$/gm)].map(([, k, v]) => [k!, v!]));
const SERVICES = ['postgresql', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'versitygw', 'worker'];

// The same folder as CACHE_DIR in scripts/stack/lib.sh and COMPOSE_DIR in scripts/stack/install.sh.
function composeBinary(): string {
  const cache = process.env.KUBEFERRY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'kubeferry');
  const version = versions.DOCKER_COMPOSE_VERSION;
  assert.ok(version, 'scripts/stack/versions.env lacks DOCKER_COMPOSE_VERSION');
  const bin = path.join(cache, `docker-compose-${version}`, 'bin', 'docker-compose');
  if (!fs.existsSync(bin)) {
    assert.fail(`docker-compose ${version} is not built (${bin} is missing): run \`bash scripts/stack/install.sh compose\``);
  }
  return bin;
}

// Runs `docker-compose config` with only the variables given (plus PATH and HOME), so that the caller's
// environment cannot change what it renders.
function composeConfig(vars: Record<string, string>): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(composeBinary(),
      ['--project-name', 'kubeferry', '--project-directory', root, '-f', path.join(root, 'docker-compose.yml'), 'config', '--format', 'json'],
      { cwd: root, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.homedir(), ...vars } });
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string; message: string };
    if (typeof e.status !== 'number') throw err; // not an exit status: spawn failure or timeout
    return { status: e.status, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

const S3_KEYS = { KUBEFERRY_S3_ACCESS_KEY: 'test-access', KUBEFERRY_S3_SECRET_KEY: 'test-secret' };

describe('docker-compose.yml and the local stack agree with the code', () => {
  it('register exactly the search attributes the workflow writes', () => {
    const command = compose.services['temporal-admin-tools']!.command!.join(' ');
    const inCompose = [...command.matchAll(/--name (\w+) --type (\w+)/g)].map(([, n, t]) => `${n}=${t}`).sort();
    assert.deepEqual(inCompose, expected);
    const upSh = read('scripts/stack/up.sh').match(/SEARCH_ATTRIBUTES=\(([^)]*)\)/)![1]!.split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(upSh, expected);
  });

  it('create the namespace the worker uses before registering the search attributes', () => {
    const admin = compose.services['temporal-admin-tools']!;
    const command = admin.command!.join(' ');
    assert.equal(admin.environment!.NAMESPACE, compose.services.worker!.environment!.TEMPORAL_NAMESPACE);
    const ensure = command.indexOf('temporal operator namespace create');
    assert.ok(ensure >= 0, 'the admin tools do not create the namespace');
    assert.ok(ensure < command.indexOf('--name '), 'the namespace must exist before search attributes are registered in it');
  });

  it('give the worker the environment it reads', () => {
    const env = compose.services.worker!.environment!;
    const code = [read('src/worker.ts'), read('src/config/worker-config.ts')].join('\n');
    const readByWorker = new Set([...code.matchAll(/process\.env\.(\w+)/g)].map(([, name]) => name!));
    // Where Temporal is comes from src/config/temporal.ts, by the variables it names.
    for (const name of [TEMPORAL_ENV.address, TEMPORAL_ENV.namespace, TEMPORAL_ENV.taskQueue]) readByWorker.add(name);
    for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'KUBEFERRY_CONFIG', 'S3_ENDPOINT']) {
      assert.ok(name in env, `worker service lacks ${name}`);
      assert.ok(readByWorker.has(name), `the worker does not read ${name}`);
    }
    // Variables the worker reads that compose leaves to the config file or the defaults; a new one
    // belongs either in docker-compose.yml or here.
    // (KUBEFERRY_WORKFLOW_BUNDLE is the Dockerfile's own ENV: the bundle it builds.)
    const leftToDefaults = new Set(['AWS_REGION', 'KUBEFERRY_TASK_QUEUE', 'KUBEFERRY_WORKFLOW_BUNDLE']);
    for (const name of readByWorker) assert.ok(name in env || leftToDefaults.has(name), `the worker reads ${name}: set it in docker-compose.yml or list it here`);
    // The AWS SDK reads these itself, from the environment.
    const sdk = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
    for (const name of Object.keys(env)) assert.ok(readByWorker.has(name) || sdk.has(name), `docker-compose.yml sets ${name}, which nothing in the worker reads`);
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

  it('build the worker from the Dockerfile, which runs src/worker.ts as a non-root user', () => {
    assert.deepEqual(compose.services.worker!.build, { context: '.', dockerfile: 'Dockerfile' });
    const dockerfile = read('Dockerfile');
    assert.match(dockerfile, /^FROM node:24-bookworm-slim$/m);
    assert.match(dockerfile, /^RUN npm ci --omit=dev\b/m);
    assert.match(dockerfile, /^USER node$/m);
    const cmd = dockerfile.match(/^CMD (\[.*\])$/m);
    assert.ok(cmd, 'the Dockerfile has no exec-form CMD');
    assert.deepEqual(JSON.parse(cmd[1]!), ['node', '--import', 'tsx', 'src/worker.ts']);
    assert.ok(fs.existsSync(path.join(root, 'src/worker.ts')));
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    assert.ok(pkg.dependencies.tsx, 'tsx must be a runtime dependency: the image installs without dev dependencies');
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', '.stack', '.git', 'config']) assert.ok(ignored.includes(entry), `.dockerignore lacks ${entry}`);
  });

  it('build versitygw at the version the local stack pins', () => {
    const build = compose.services.versitygw!.build!;
    assert.ok(fs.existsSync(path.join(root, build.context, build.dockerfile ?? 'Dockerfile')));
    assert.equal(build.args?.VERSITYGW_VERSION, versions.VERSITYGW_VERSION);
  });

  it('are accepted by `docker-compose config`, with the S3 keys required', () => {
    const missing = composeConfig({});
    assert.notEqual(missing.status, 0, 'config must refuse to render without the S3 keys');
    assert.match(missing.stderr, /KUBEFERRY_S3_(ACCESS|SECRET)_KEY/);

    const result = composeConfig(S3_KEYS);
    assert.equal(result.status, 0, `docker-compose config failed:\n${result.stderr}`);
    const rendered = JSON.parse(result.stdout) as {
      services: Record<string, {
        build?: { context: string; dockerfile: string };
        environment?: Record<string, string | null>;
        ports?: { host_ip?: string; published?: string; target: number }[];
        depends_on?: Record<string, { condition: string }>;
      }>;
    };
    assert.deepEqual(Object.keys(rendered.services).sort(), [...SERVICES].sort());
    const worker = rendered.services.worker!;
    assert.equal(worker.build?.context, root);
    assert.equal(worker.build?.dockerfile, 'Dockerfile');
    assert.equal(worker.environment?.AWS_ACCESS_KEY_ID, S3_KEYS.KUBEFERRY_S3_ACCESS_KEY);
    assert.equal(worker.depends_on?.['temporal-admin-tools']?.condition, 'service_completed_successfully');
    assert.equal(rendered.services.versitygw!.environment?.ROOT_SECRET_ACCESS_KEY, S3_KEYS.KUBEFERRY_S3_SECRET_KEY);
    for (const [name, service] of Object.entries(rendered.services)) {
      for (const p of service.ports ?? []) assert.equal(p.host_ip, '127.0.0.1', `${name} publishes port ${p.published} beyond 127.0.0.1`);
    }
    // Without payload encryption the UI gets no codec endpoint; with it, the one configured.
    assert.equal(rendered.services['temporal-ui']!.environment?.TEMPORAL_CODEC_ENDPOINT, '');
  });

  it('point the Web UI at the codec endpoint when one is configured', () => {
    const endpoint = 'http://127.0.0.1:8888';
    const result = composeConfig({ ...S3_KEYS, KUBEFERRY_CODEC_ENDPOINT: endpoint });
    assert.equal(result.status, 0, `docker-compose config failed:\n${result.stderr}`);
    const rendered = JSON.parse(result.stdout) as { services: Record<string, { environment?: Record<string, string> }> };
    assert.equal(rendered.services['temporal-ui']!.environment?.TEMPORAL_CODEC_ENDPOINT, endpoint);
  });
});
