import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/common';
import YAML from 'yaml';
import { loadCliConfig, type CliConfig } from '../../src/config/cli-config.js';
import { ConfigError } from '../../src/config/worker-config.js';
import { describeError, EXIT } from '../../src/cli/errors.js';
import { program, run } from '../../src/cli/main.js';
import { bar, endedView, nextCommands, PLAIN, planView, progressView, readableId, stillInTarget, styleFor, table, type EndedMigration } from '../../src/cli/render.js';
import { freshId } from '../../src/client.js';
import { buildRequest, deepMerge, stepsFrom } from '../../src/cli/request-builder.js';
import { InvalidRequestError, parseMigrationRequest } from '../../src/domain/request.js';
import type { MigrationProgress } from '../../src/workflows/messages.js';
import type { PlanReport } from '../../src/activities/contract.js';

const config = (over: Partial<CliConfig> = {}): CliConfig => ({
  file: '/etc/kubeferry.yaml',
  temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'kubeferry' },
  clusters: ['prod-a', 'prod-b'],
  storage: { bucket: 'backups', prefix: 'kf' },
  routes: { web: { name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] } },
  defaults: { source: { cluster: 'prod-a' }, target: { cluster: 'prod-b' }, traffic: { steps: [50, 100], stepInterval: '1m' } },
  ...over,
});

describe('request builder: config defaults < request file < flags', () => {
  test('a request from flags alone takes storage, clusters and traffic from the config and validates', () => {
    const r = buildRequest(config(), undefined, { includeNamespaces: ['shop,billing'], routes: ['web'] });
    assert.deepEqual(r.storage, { bucket: 'backups', prefix: 'kf' });
    assert.deepEqual(r.namespaces, { include: ['shop', 'billing'] });
    assert.deepEqual(r.source, { cluster: 'prod-a' });
    assert.equal(r.routes?.[0]?.router, 'haproxy');
    assert.equal(parseMigrationRequest(r).traffic.stepInterval, '1m');
  });

  test('the file overrides the defaults and flags override the file; arrays are replaced, not concatenated', () => {
    const file = { namespaces: { include: ['a'], exclude: ['a-tmp'] }, traffic: { steps: [10, 100] }, storage: { prefix: 'other' } };
    const r = buildRequest(config(), file, { includeNamespaces: ['b'], steps: '5,50,100', approve: [2], target: 'prod-a', source: 'prod-b' });
    assert.deepEqual(r.namespaces, { include: ['b'], exclude: ['a-tmp'] });
    assert.deepEqual(r.traffic, { steps: [5, { weight: 50, approval: true }, 100], stepInterval: '1m' });
    assert.deepEqual(r.storage, { bucket: 'backups', prefix: 'other' });
    assert.deepEqual([r.source, r.target], [{ cluster: 'prod-b' }, { cluster: 'prod-a' }]);
  });

  test('routes in a file may be names from the config or full route objects', () => {
    const own = { name: 'api', router: 'haproxy', backend: 'api', workloads: ['billing/api'] };
    const r = buildRequest(config(), { routes: ['web', own] }, {});
    assert.deepEqual(r.routes?.map((x) => x.name), ['web', 'api']);
  });

  test('an unknown route name or cluster name is refused, naming what the config has', () => {
    assert.throws(() => buildRequest(config(), undefined, { routes: ['wbe'] }), (e: InvalidRequestError) => /"wbe" is not defined .*defined: web/.test(e.message));
    assert.throws(() => buildRequest(config(), undefined, { source: 'prod-c' }), (e: InvalidRequestError) => /source.cluster: unknown cluster "prod-c"; .* names prod-a, prod-b/.test(e.message));
    // Without a config naming clusters the worker is the judge.
    assert.doesNotThrow(() => buildRequest(config({ clusters: [] }), undefined, { source: 'prod-c' }));
  });

  test('steps: whole percentages, approval only on steps that exist', () => {
    assert.deepEqual(stepsFrom('10, 25%,100', [3]), [10, 25, { weight: 100, approval: true }]);
    assert.throws(() => stepsFrom('10,half'), /"half" is not a whole percentage/);
    assert.throws(() => stepsFrom('10,100', [3]), /step 3 does not exist \(steps 1 to 2\)/);
  });

  test('a request file that is not a mapping is refused', () => {
    assert.throws(() => buildRequest(config(), ['a'], {}), /must be a mapping/);
  });

  test('deepMerge merges mappings and replaces everything else', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, d: undefined }), { a: { b: 1, c: [2] }, d: 1 });
  });

  test('a missing section says what to write there', () => {
    assert.throws(() => parseMigrationRequest({ source: { cluster: 'a' }, target: { cluster: 'b' }, namespaces: { include: ['x'] } }),
      (e: InvalidRequestError) => e.problems.some((p) => /^storage: required: \{ bucket: <S3 bucket>/.test(p)));
  });
});

describe('CLI config file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-cli-'));
  const file = path.join(dir, 'kubeferry.yaml');
  fs.writeFileSync(file, [
    'temporal: { address: "temporal.prod:7233", namespace: migrations }',
    'clusters: { prod-a: { kubeconfig: /secret/a.yaml }, prod-b: { kubeconfig: /secret/b.yaml } }',
    'storage: { bucket: backups, credentialsFile: /secret/s3.env }',
    'routes: { web: { router: haproxy, backend: web, workloads: [shop/web] } }',
    'defaults: { existingObjects: update }',
  ].join('\n'));

  test('reads temporal, cluster names, storage bucket, routes and defaults; never the credential files', () => {
    const c = loadCliConfig({ config: file }, {});
    assert.equal(c.temporal.address, 'temporal.prod:7233');
    assert.equal(c.temporal.namespace, 'migrations');
    assert.equal(c.temporal.webUi, undefined, 'a remote frontend has no known Web UI address');
    assert.deepEqual(c.clusters, ['prod-a', 'prod-b']);
    assert.deepEqual(c.storage, { bucket: 'backups' });
    assert.deepEqual(c.routes.web, { name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] });
    assert.deepEqual(c.defaults, { existingObjects: 'update' });
    assert.ok(!JSON.stringify(c).includes('/secret/'), 'credential paths are not even carried');
  });

  test('flag > environment > file > default', () => {
    const env = { TEMPORAL_ADDRESS: 'env:7233', KUBEFERRY_BUCKET: 'env-bucket', KUBEFERRY_TASK_QUEUE: 'env-q' };
    const c = loadCliConfig({ config: file, address: 'flag:7233' }, env);
    assert.equal(c.temporal.address, 'flag:7233');
    assert.equal(c.temporal.taskQueue, 'env-q');
    assert.equal(c.storage.bucket, 'env-bucket');
    assert.equal(loadCliConfig({ config: file }, env).temporal.address, 'env:7233');
    assert.equal(loadCliConfig({ config: file }, { TEMPORAL_UI_URL: 'https://ui' }).temporal.webUi, 'https://ui');
  });

  test('a named config file that is missing or malformed is an error naming it', () => {
    assert.throws(() => loadCliConfig({ config: path.join(dir, 'nope.yaml') }, {}), (e: ConfigError) => /nope.yaml not found \(--config\)/.test(e.message));
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'routes: [a, b]\n');
    assert.throws(() => loadCliConfig({}, { KUBEFERRY_CONFIG: bad }), /bad.yaml: 'routes' must be a mapping/);
    fs.writeFileSync(bad, 'temporal: {address: [\n');
    assert.throws(() => loadCliConfig({ config: bad }, {}), /bad.yaml: /);
  });
});

describe('terminal output', () => {
  test('colour only on a terminal, never with NO_COLOR or TERM=dumb, always with FORCE_COLOR', () => {
    assert.deepEqual(styleFor({ isTTY: true }, {}), { color: true, unicode: true });
    assert.deepEqual(styleFor({ isTTY: false }, {}), { color: false, unicode: false });
    assert.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }).color, false);
    assert.equal(styleFor({ isTTY: true }, { TERM: 'dumb' }).color, false);
    assert.equal(styleFor({ isTTY: false }, { FORCE_COLOR: '1' }).color, true);
  });

  test('tables align columns and right-align numbers; bars fill in proportion', () => {
    assert.equal(table(['NAME', 'N'], [['a', 5], ['bbb', 10]]), 'NAME   N\na      5\nbbb   10');
    assert.equal(bar(0.5, PLAIN, 10), '#####-----');
    assert.equal(bar(2, PLAIN, 4), '####');
    assert.equal(readableId('Deployment/shop/web'), 'Deployment shop/web');
    assert.equal(readableId('Namespace//shop'), 'Namespace shop');
  });

  const progress: MigrationProgress = {
    migrationId: 'm1', task: 'migrate', phase: 'traffic', paused: true, rollbackRequested: false, backupId: 'm1',
    objects: { backedUp: 12, restored: 10, skipped: 2, updated: 0, differing: 0, failed: 0, total: 12 },
    waves: { done: 5, total: 5 }, readiness: { ready: 1, total: 2, percent: 50 },
    routes: [{ name: 'web', weight: 25, ready: 1, total: 1 }], step: { index: 2, total: 4, nextAt: new Date(Date.now() + 30_000).toISOString() },
    pendingApproval: { step: 3, weight: 50, since: new Date().toISOString() }, errors: ['route api: no ready workload'], differences: [],
  };

  test('the progress view shows every stage, each route\'s weight, the approval command and errors', () => {
    const view = progressView(progress, PLAIN);
    assert.match(view, /m1 {2}migrate {2}phase traffic {2}PAUSED {2}backup m1/);
    assert.match(view, /backup +#{24} 12 objects\n/);
    assert.match(view, /restore +#{24} wave 5\/5, 12\/12 objects \(2 already there\)/);
    assert.match(view, /readiness +#{12}-{12} 1\/2 workloads ready \(grayscale ratio 50%\)/);
    assert.match(view, /traffic +step 2\/4\n/, 'no next-step time while paused');
    assert.match(view, /web +#{6}-{18} +25% to target/);
    assert.match(view, /kubeferry approve m1 3/);
    assert.match(view, /error +route api: no ready workload/);
    assert.match(progressView({ ...progress, paused: false }, PLAIN), /step 2\/4, next step in (29|30)s/);
    assert.ok(!progressView(progress, PLAIN).includes('\u001b['), 'no escape codes without colour');
    assert.ok(progressView(progress, { color: true, unicode: true }).includes('\u001b[33mPAUSED'));
  });

  test('the progress view names why each workload is not ready, and what the admission preflight found', () => {
    const view = progressView({
      ...progress,
      readiness: { ready: 1, total: 2, percent: 50, notReady: [{ workload: 'shop/api', cause: 'pods cannot be created (ReplicaSet shop/api-1: FailedCreate): failed quota: compute' }] },
      admission: { mode: 'warn', checked: 2, refused: 1, refusals: [{ workload: 'Deployment shop/api', message: 'failed quota: compute' }] },
    }, PLAIN);
    assert.match(view, /not ready +shop\/api: pods cannot be created \(ReplicaSet shop\/api-1: FailedCreate\): failed quota: compute/);
    assert.match(view, /admission +the target would refuse the pods of 1 of 2 workloads \(admission: warn, going on\)\n +Deployment shop\/api: failed quota: compute/);
  });

  test('status of an ended migration: what is still in the target, the traffic, and the next commands', () => {
    const failed: EndedMigration = {
      migrationId: 'm1', status: 'FAILED', failure: '1 of 2 workloads are not ready',
      progress: { ...progress, phase: 'failed', paused: false, pendingApproval: undefined, routes: [{ name: 'web', weight: 0, ready: 1, total: 1 }] },
    };
    assert.equal(stillInTarget(failed), 10);
    const view = endedView(failed, PLAIN);
    assert.match(view, /^m1: FAILED {2}migrate, ended in phase failed\n {2}failure {4}1 of 2 workloads are not ready/);
    assert.match(view, /in target +10 created by it and still there/);
    assert.match(view, /traffic +all on the source\n {2}route +web: 0% to the target/);
    assert.match(view, /next\n {4}kubeferry cleanup m1 {3}removes the 10 objects it created/);
    const cleaned: EndedMigration = { ...failed, cleanup: { status: 'COMPLETED', report: { deleted: 10, kept: 0, failed: 0, finishedAt: '2026-12-02T00:00:00Z' } } };
    assert.equal(stillInTarget(cleaned), 0);
    assert.ok(!nextCommands(cleaned).some((c) => c.startsWith('kubeferry cleanup')));
    const completed: EndedMigration = { ...failed, status: 'COMPLETED', resultStatus: 'Completed', progress: { ...failed.progress!, phase: 'completed', routes: [{ name: 'web', weight: 100, ready: 1, total: 1 }] } };
    assert.match(nextCommands(completed)[0]!, /^kubeferry cleanup m1 --force {3}to undo it: moves its traffic back to the source/);
    // A restore reads a backup it did not take: its size is what it holds.
    const restore = { ...failed.progress!, task: 'restore' as const, objects: { ...progress.objects, backedUp: 0, total: 2004 } };
    assert.match(endedView({ ...failed, progress: restore }, PLAIN), /backup +m1: 2004 objects \(restored from it\)/);
  });

  test('a taken migration id suggests a fresh one that is still a DNS label', () => {
    assert.equal(freshId('web'), 'web-2');
    assert.equal(freshId('web-2'), 'web-3');
    assert.equal(freshId('a'.repeat(63)).length, 63);
  });

  test('the plan view lists waves with examples, left-out objects and problems in the target', () => {
    const plan: PlanReport = {
      sourceVersion: 'v1.36.3', namespaces: ['shop'], objects: 3, workloads: 1,
      kinds: [{ kind: 'Namespace', count: 1 }, { kind: 'Deployment', count: 2 }],
      waves: [{ index: 0, kinds: ['Namespace'], count: 1 }, { index: 1, kinds: ['Deployment'], count: 2 }],
      waveExamples: [['Namespace//shop'], ['Deployment/shop/web']], brokenCycles: [{ from: 'Role/shop/a', to: 'RoleBinding/shop/b' }], outside: 1,
      leftOut: [{ reason: 'default ServiceAccount', count: 1, examples: ['ServiceAccount shop/default'] }], leftOutTypes: [{ type: 'events', reason: 'history' }],
      notServedByTarget: ['widgets.example.com'], conflicts: 1, conflictExamples: ['Deployment/shop/web'],
      graph: { level: 'object', nodes: [], edges: [] },
    };
    const view = planView(plan, PLAIN);
    assert.match(view, /Plan: 3 objects in 1 namespaces \(shop\), 1 workloads, 2 waves; source Kubernetes v1.36.3/);
    assert.match(view, / +2 +2 +Deployment +Deployment shop\/web, \.\.\./);
    assert.match(view, /KIND +OBJECTS\nDeployment +2\nNamespace +1/, 'kinds by count');
    assert.match(view, /default ServiceAccount +1 +ServiceAccount shop\/default/);
    assert.match(view, /1 types never copied: events/);
    assert.match(view, /the target does not serve: widgets.example.com/);
    assert.match(view, /1 objects already exist in the target: Deployment\/shop\/web/);
    assert.match(view, /Role shop\/a no longer waits for RoleBinding shop\/b/);
  });
});

describe('exit codes', () => {
  test('each kind of error has its code and a message for people', () => {
    assert.equal(describeError(new InvalidRequestError(['x: bad'])).exitCode, EXIT.invalid);
    assert.equal(describeError(new ConfigError('bad')).exitCode, EXIT.invalid);
    assert.deepEqual(describeError(new WorkflowNotFoundError('not found', 'm9', undefined)), { exitCode: EXIT.notFound, message: 'no migration with id "m9" (kubeferry list shows them)' });
    assert.equal(describeError(new WorkflowNotFoundError('workflow execution already completed', 'm9', undefined)).exitCode, EXIT.rejected);
    assert.equal(describeError(new Error('boom')).exitCode, EXIT.failed);
  });

  test('rbac prints, for a request file, the Roles to apply as YAML documents kubectl reads, and refuses a namespace pattern with exit code 3', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-rbac-'));
    const cfg = path.join(dir, 'kubeferry.yaml');
    fs.writeFileSync(cfg, '{}\n');
    const req = path.join(dir, 'request.yaml');
    fs.writeFileSync(req, YAML.stringify({
      source: { cluster: 'a' }, target: { cluster: 'b' }, storage: { bucket: 'backups', prefix: 'kf' }, namespaces: { include: ['shop'] },
      routes: [{ name: 'web', router: 'ingress-nginx', cluster: 'b', namespace: 'shop', canaryIngress: 'web-canary', workloads: ['shop/web'] }],
    }));
    try {
      await withOutput(async (output) => {
        assert.equal(await run(['--config', cfg, 'rbac', 'router', req]), EXIT.ok);
        const docs = YAML.parseAllDocuments(output.text).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } } | null).filter((d) => d);
        assert.deepEqual(docs.map((d) => `${d!.kind} ${d!.metadata.namespace}/${d!.metadata.name}`), ['Role shop/kubeferry-router-web', 'RoleBinding shop/kubeferry-router-web']);
        assert.match(output.text, /^# kubeferry rbac router: apply in cluster "b"/);
        output.text = '';
        assert.equal(await run(['--config', cfg, 'rbac', 'source', req, '-n', 'shop-*']), EXIT.invalid);
        assert.match(output.text, /namespaces\.include holds patterns \(shop-\*\)/);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--help works on every command and exits 0; an unknown option exits 2', async () => {
    const names = program().commands.flatMap((c) => [[c.name()], ...c.commands.map((s) => [c.name(), s.name()])]);
    assert.ok(names.length >= 11, `commands: ${names.map((n) => n.join(' ')).join(', ')}`);
    await withOutput(async (output) => {
      for (const name of names) {
        output.text = '';
        assert.equal(await run([...name, '--help']), EXIT.ok, name.join(' '));
        assert.match(output.text, new RegExp(`Usage: kubeferry ${name.join(' ')}`));
      }
      assert.equal(await run(['status', '--bogus']), EXIT.usage);
      assert.match(output.text, /unknown option '--bogus'/);
      assert.equal(await run(['teleport']), EXIT.usage);
    });
  });
});

/** Runs `fn` with what the CLI writes to stdout and stderr gathered in `output.text`. */
async function withOutput(fn: (output: { text: string }) => Promise<void>): Promise<void> {
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  const output = { text: '' };
  process.stdout.write = ((chunk: string) => { output.text += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => { output.text += chunk; return true; }) as typeof process.stderr.write;
  try {
    await fn(output);
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
}
