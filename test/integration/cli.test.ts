// The `kubeferry` command line as operators run it: a separate process (bin/kubeferry.js) talking to the
// real Temporal server, a worker of the test's own task queue doing the work against the real clusters
// and S3. Exit codes, tables, JSON, the plan's graph files, an approval gate, and refusals.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeRest } from '../../src/kube/rest.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import { kubeconfigFrom, repoRoot, stackEnv, startStackWorker, type StackWorker } from '../support/stack.js';

const env = stackEnv();
const run = `cl-${randomBytes(3).toString('hex')}`;
const ns = `${run}-app`;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-cli-'));
let stack: StackWorker;
let source: KubeRest;

interface Ran { code: number; stdout: string; stderr: string }

/** Runs the CLI as a user would, against the stack's config, on this test's task queue. */
function kubeferry(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin/kubeferry.js'), ...args], {
      cwd: out,
      env: { ...process.env, KUBEFERRY_CONFIG: env.KUBEFERRY_CONFIG, KUBEFERRY_TASK_QUEUE: `kubeferry-${run}`, NO_COLOR: '1' },
      timeout: 120_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

const ok = (r: Ran, what: string) => assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);

before(async () => {
  stack = await startStackWorker(run);
  source = stack.source;
  await source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await source.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'web-config' }, data: { color: 'blue' } } });
  await source.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name: 'web' } } });
  await source.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'registry.example/web:1', envFrom: [{ configMapRef: { name: 'web-config' } }] }] },
        },
      },
    },
  });
});

after(async () => {
  await stack?.stop();
  await deleteNamespaces(kubeconfigFrom(env.SOURCE_KUBECONFIG!), [ns]);
  await deleteNamespaces(kubeconfigFrom(env.TARGET_KUBECONFIG!), [ns]);
  fs.rmSync(out, { recursive: true, force: true });
});

describe('kubeferry CLI on the real stack', () => {
  it('plan prints the waves and writes the dependency graph as Mermaid and SVG', async () => {
    const r = await kubeferry('plan', '-n', ns, '--graph', 'graphs/plan');
    ok(r, 'plan');
    assert.match(r.stdout, new RegExp(`Plan: 4 objects in 1 namespaces \\(${ns}\\), 1 workloads`));
    assert.match(r.stdout, new RegExp(`Deployment +Deployment ${ns}/web`));
    assert.match(r.stdout, /default ServiceAccount \(every namespace gets its own\)/);
    assert.match(r.stdout, /no conflicts in the target/);
    const mermaid = fs.readFileSync(path.join(out, 'graphs/plan.mmd'), 'utf8');
    assert.match(mermaid, /^flowchart LR/);
    assert.match(mermaid, new RegExp(`\\["ConfigMap ${ns}/web-config"\\]`));
    assert.equal(mermaid.match(/-->/g)?.length, 5, 'namespace -> 3 objects, ServiceAccount and ConfigMap -> Deployment');
    const svg = fs.readFileSync(path.join(out, 'graphs/plan.svg'), 'utf8');
    assert.match(svg, /<svg[\s\S]*Deployment [^<]*\/web/, 'SVG from Graphviz (installed by scripts/stack/install.sh debian-tools)');
  });

  it('start --watch follows a backup-and-restore to the end and exits 0; status, list and backups read it back', async () => {
    const id = `${run}-move`;
    const r = await kubeferry('start', '-n', ns, '--id', id, '--prefix', `test/${run}`, '--watch', '--interval', '300');
    ok(r, 'start --watch');
    assert.match(r.stdout, new RegExp(`started ${id}  Web UI: http://127.0.0.1:8233/namespaces/default/workflows/${id}`));
    assert.match(r.stdout, /restore +#{24} wave (\d)\/\1, 4\/4 objects/);
    assert.match(r.stdout, new RegExp(`${id}: Completed after`));
    assert.match(r.stdout, /restore +4 created, 0 updated, 0 already there, 0 failed, in (\d)\/\1 waves/);

    const status = await kubeferry('status', id, '-o', 'json');
    ok(status, 'status');
    const result = JSON.parse(status.stdout) as { status: string; progress: { objects: { restored: number } } };
    assert.equal(result.status, 'Completed');
    assert.equal(result.progress.objects.restored, 4);

    const list = await kubeferry('list', '-q', `MigrationId = "${id}"`, '-o', 'json');
    ok(list, 'list');
    assert.deepEqual((JSON.parse(list.stdout) as { migrationId: string; phase: string }[]).map((m) => [m.migrationId, m.phase]), [[id, 'completed']]);

    const backups = await kubeferry('backups', 'list', '--prefix', `test/${run}`);
    ok(backups, 'backups list');
    assert.match(backups.stdout, new RegExp(`${id} +complete +source +4 `));
    const describe = await kubeferry('backups', 'describe', id, '--prefix', `test/${run}`, '-o', 'yaml');
    ok(describe, 'backups describe');
    assert.match(describe.stdout, /^backupId: /m);
    assert.match(describe.stdout, /^objects: 4$/m);

    const late = await kubeferry('approve', id);
    assert.equal(late.code, 6, late.stderr);
    assert.match(late.stderr, new RegExp(`refused: migration "${id}" has already ended`));
  });

  it('an approval gate: status shows it, a wrong step is refused (6), approve passes it, rollback ends it (status exits 1)', async () => {
    const id = `${run}-gate`;
    // A route whose first step needs approval; its workload is this test's Deployment. observeFor keeps
    // the migration open at 100 % so that the rollback below still has something to roll back.
    const request = path.join(out, 'gate.yaml');
    fs.writeFileSync(request, [
      `namespaces: { include: [${ns}] }`,
      `storage: { prefix: test/${run} }`,
      'existingObjects: skip',
      'traffic: { observeFor: 10m }',
      `routes: [{ name: gate, router: haproxy, backend: web, workloads: [${ns}/web] }]`,
    ].join('\n'));
    ok(await kubeferry('start', request, '--id', id, '--steps', '50,100', '--approve', '1', '--step-interval', '1s'), 'start');

    const deadline = Date.now() + 60_000;
    let view = '';
    while (!/needs approval/.test(view)) {
      assert.ok(Date.now() < deadline, `no approval gate within 60 s; last status:\n${view}`);
      await new Promise((r) => setTimeout(r, 500));
      view = (await kubeferry('status', id)).stdout;
    }
    assert.match(view, new RegExp(`step 1 \\(50%\\) needs approval: kubeferry approve ${id} 1`));
    assert.match(view, /gate +-{24} +0% to target/);

    const wrong = await kubeferry('approve', id, '2');
    assert.equal(wrong.code, 6, wrong.stderr);
    assert.match(wrong.stderr, /refused: .*step 1/);

    const approved = await kubeferry('approve', id, '1', '-o', 'json');
    ok(approved, 'approve');
    assert.equal((JSON.parse(approved.stdout) as { pendingApproval?: unknown }).pendingApproval, undefined);

    ok(await kubeferry('rollback', id, '--reason', 'cli test'), 'rollback');
    const end = await kubeferry('status', id, '--watch');
    assert.equal(end.code, 1, `a rolled-back migration exits 1:\n${end.stdout}${end.stderr}`);
    assert.match(end.stdout, new RegExp(`${id}: RolledBack`));
    assert.match(end.stdout, /route +gate: 0% to the target/);
  });

  it('refuses bad input before starting anything, with exit codes scripts can branch on', async () => {
    const unknown = await kubeferry('start', '--source', 'nowhere', '-n', ns);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /source.cluster: unknown cluster "nowhere"; .*names source, target/);
    const badSteps = await kubeferry('start', '-n', ns, '--steps', '50,25');
    assert.equal(badSteps.code, 3);
    assert.match(badSteps.stderr, /traffic.steps/);
    const missing = await kubeferry('status', `${run}-never-started`);
    assert.equal(missing.code, 4);
    const usage = await kubeferry('start', '--cluster-resources', 'some');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Allowed choices are auto, include, exclude/);
    const unreachable = await kubeferry('--address', '127.0.0.1:9', 'list');
    assert.equal(unreachable.code, 5);
    assert.match(unreachable.stderr, /cannot reach Temporal at 127.0.0.1:9/);
    const dry = await kubeferry('start', '-n', ns, '--dry-run', '-o', 'json');
    ok(dry, 'start --dry-run');
    assert.deepEqual((JSON.parse(dry.stdout) as { request: { namespaces: unknown } }).request.namespaces, { include: [ns] });
  });
});
