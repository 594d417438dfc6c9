// Records the histories of representative runs of the workflows, for test/workflow/replay.test.ts: each
// scenario runs the real workflow code on Temporal's time-skipping test server with stubbed activities
// (no cluster, no S3, no router), and its history is saved as test/histories/<scenario>.json.
// Histories hold the request, activity inputs and results: names and counts only, no credentials.
//
//   npm run histories:record                                    every scenario, with src/workflows
//   npm run histories:record -- --only migrate,plan             some of them
//   npm run histories:record -- --workflows <dir> --suffix pre-patch --only held-step-timeout
//                                                               the workflows of another checkout, saved as
//                                                               test/histories/<scenario>.pre-patch.json
// held-step-timeout.pre-patch.json is the run before commit dbae331 added
// patched('failed-phase-after-traffic-rollback'); it was recorded with
//   git worktree add --detach /tmp/kubeferry-prepatch dbae331~1
//   npm run histories:record -- --workflows /tmp/kubeferry-prepatch/src/workflows --suffix pre-patch --only held-step-timeout
//   git worktree remove /tmp/kubeferry-prepatch
// (the worktree needs no node_modules: packages are resolved from this repository's).
// *.pre-front-door-patch.json are migrate, migrate-cutover, rollback-cleanup, held-step-timeout and
// restore as recorded before patched('routes-verified-after-restore'), patched('admission-preflight') and
// patched('final-progress-memo') were added (the files those scenarios had until then, kept as they were).
// *.pre-settle-patch.json are every scenario that runs a backup, restore or admission activity, as
// recorded before patched('bulk-cancel-settles') (the files they had until then); *.pre-rollback-patch.json
// are rollback-cleanup and held-step-timeout before patched('rollback-settles-every-route');
// *.pre-watch-patch.json are every scenario that moves traffic, before patched('route-weights-watched').
//
// The scenario name is also the workflow id: a history does not carry the workflow id, and
// migrateCluster validates it, so the replay test passes the file name up to its first dot.
// Re-recording replaces a history: do it for a new scenario, never to make a changed workflow replay
// (change workflow logic behind patched() instead, so that running migrations still replay).
import { goalReached } from '../src/domain/readiness-goal.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type {
  AdmissionReport, BackupListing, BackupSummary, MigrationActivities, PlanReport, ReadinessReport, StorageRef, WatchRoutesResult,
} from '../src/activities/contract.js';
import type { MigrationRequestInput } from '../src/domain/request.js';
import { workflowsPath as currentWorkflows } from '../src/worker.js';
import { approveUpdate, promoteUpdate, rollbackUpdate, type MigrationProgress } from '../src/workflows/messages.js';
import { quietRuntime, registerSearchAttributes } from '../test/support/runtime.js';
import { repoRoot, temporalCliPath, timeSkippingServerPath } from '../test/support/stack.js';

const IDENTITY = 'kubeferry-histories';
const storage: StorageRef = { bucket: 'kubeferry', prefix: 'kubeferry' };

// The "basic" sample app (src/dev/sample-app.ts): shop/web and billing/api, each with its Namespace,
// ServiceAccount, ConfigMap, Secret and Service.
const backupSummary = (backupId: string): BackupSummary => ({
  backupId,
  sourceCluster: 'source',
  sourceVersion: 'v1.36.3',
  completedAt: '2026-11-27T09:14:05.000Z',
  namespaces: ['billing', 'shop'],
  objects: 12,
  kinds: [
    { kind: 'Namespace', count: 2 }, { kind: 'ServiceAccount', count: 2 }, { kind: 'ConfigMap', count: 2 },
    { kind: 'Secret', count: 2 }, { kind: 'Service', count: 2 }, { kind: 'Deployment', count: 2 },
  ],
  waves: [
    { index: 0, kinds: ['Namespace'], count: 2 },
    { index: 1, kinds: ['ServiceAccount', 'ConfigMap', 'Secret', 'Service'], count: 8 },
    { index: 2, kinds: ['Deployment'], count: 2 },
  ],
  plan: { brokenCycles: 0, outside: 0 },
  workloads: 2,
  leftOut: {
    'default ServiceAccount (every namespace gets its own)': 2,
    'kube-root-ca.crt (published by the target cluster itself)': 2,
    'owned by a copied Deployment (its controller recreates it in the target)': 2,
    'owned by a copied ReplicaSet (its controller recreates it in the target)': 5,
  },
});

const planReport: PlanReport = {
  sourceVersion: 'v1.36.3',
  namespaces: ['billing', 'shop'],
  objects: 12,
  kinds: backupSummary('plan').kinds,
  waves: backupSummary('plan').waves,
  waveExamples: [
    ['Namespace//billing', 'Namespace//shop'],
    ['ServiceAccount/shop/web', 'ConfigMap/shop/web-config', 'Secret/shop/web-credentials', 'Service/shop/web'],
    ['Deployment/billing/api', 'Deployment/shop/web'],
  ],
  brokenCycles: [],
  outside: 0,
  workloads: 2,
  leftOut: [
    { reason: 'default ServiceAccount (every namespace gets its own)', count: 2, examples: ['ServiceAccount/billing/default', 'ServiceAccount/shop/default'] },
    { reason: 'owned by a copied Deployment (its controller recreates it in the target)', count: 2, examples: ['ReplicaSet/shop/web-6d4cf56db6'] },
  ],
  leftOutTypes: [
    { type: 'events', reason: 'events describe the source cluster\'s past' },
    { type: 'endpointslices.discovery.k8s.io', reason: 'derived from Services and Pods by the target\'s controllers' },
  ],
  notServedByTarget: [],
  conflicts: 0,
  conflictExamples: [],
  graph: {
    level: 'kind',
    nodes: [
      { id: 'Namespace/', label: '2 Namespace', wave: 0, count: 2 },
      { id: 'ServiceAccount/shop', label: '1 ServiceAccount in shop', wave: 1, count: 1 },
      { id: 'ConfigMap/shop', label: '1 ConfigMap in shop', wave: 1, count: 1 },
      { id: 'Deployment/shop', label: '1 Deployment in shop', wave: 2, count: 1 },
    ],
    edges: [
      { from: 'Namespace/', to: 'ServiceAccount/shop' },
      { from: 'ServiceAccount/shop', to: 'Deployment/shop' },
      { from: 'ConfigMap/shop', to: 'Deployment/shop' },
    ],
  },
};

const listing: BackupListing[] = [
  { backupId: 'shop-to-target', status: 'complete', sourceCluster: 'source', completedAt: '2026-11-27T09:14:05.000Z', objects: 12, migrationId: 'shop-to-target' },
  { backupId: 'nightly-shop', status: 'complete', sourceCluster: 'source', completedAt: '2026-11-26T02:00:41.000Z', objects: 12 },
  { backupId: 'billing-move', status: 'incomplete', sourceCluster: 'source', migrationId: 'billing-move' },
];

/** Readiness of the two workloads; the route web is served by shop/web. */
const ready = (n: 0 | 1 | 2, extraRoutes: Record<string, { ready: number; total: number }> = {}): ReadinessReport => ({
  overall: { ready: n, total: 2, replicas: { ready: n === 0 ? 0 : n === 1 ? 3 : 5, total: 5 } },
  routes: { web: { ready: n === 0 ? 0 : 1, total: 1, replicas: { ready: n === 0 ? 0 : 3, total: 3 } }, ...extraRoutes },
  notReady: n === 2 ? [] : n === 1 ? ['billing/api'] : ['billing/api', 'shop/web'],
});

const request: MigrationRequestInput = {
  source: { cluster: 'source' },
  target: { cluster: 'target' },
  storage: { bucket: 'kubeferry' },
  namespaces: { include: ['shop', 'billing'] },
  routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] }],
  traffic: { steps: [10, 25, 50, 100], stepInterval: '5m' },
  readiness: { pollInterval: '10s', timeout: '10m' },
};

interface Stubs {
  /** Readiness at the n-th check (1-based). */
  readiness?(n: number): ReadinessReport;
  /** What the admission preflight's dry runs found. */
  admission?(): AdmissionReport;
  /** What the n-th route watch found (1-based); by default nothing. */
  watch?(n: number, expected: Record<string, number>): WatchRoutesResult | undefined;
}

/** The target's quota refuses the pods of billing/api. */
const quotaRefusal = (): AdmissionReport => ({
  checked: 2, refused: 1,
  refusals: [{ workload: 'Deployment billing/api', message: 'pods "api-x7k2p" is forbidden: failed quota: compute: must specify requests.cpu for: api' }],
});

interface Run {
  env: TestWorkflowEnvironment;
  handle: WorkflowHandle;
  /** Resolves once the workflow's progress passes the check (polled by query, in real time). */
  until(check: (p: MigrationProgress) => boolean): Promise<MigrationProgress>;
}

interface Scenario {
  /** File name and workflow id. */
  name: string;
  workflow: 'migrateCluster' | 'listBackups' | 'describeBackup' | 'cleanupMigration';
  args: unknown[];
  stubs?: Stubs;
  /** Messages sent while the workflow runs; time skips only during env.sleep and while the result is awaited. */
  drive?(run: Run): Promise<void>;
  /** Checks the outcome, so that a history is what its name says. */
  expect(outcome: { result?: unknown; failure?: ApplicationFailure }): void;
}

const status = (o: { result?: unknown }) => (o.result as { status?: string } | undefined)?.status;

const scenarios: Scenario[] = [
  {
    // Traffic starts with one of two workloads ready, a paused step timer, an approval gate approved by
    // update, a step held at the grayscale ratio, then observeFor.
    name: 'migrate',
    workflow: 'migrateCluster',
    args: [{
      ...request,
      traffic: { steps: [10, { weight: 50, approval: true }, 100], stepInterval: '5m', observeFor: '10m' },
    } satisfies MigrationRequestInput],
    stubs: { readiness: (n) => ready(n >= 5 ? 2 : 1) },
    async drive({ env, handle, until }) {
      await until((p) => p.routes[0]?.weight === 10);
      await handle.signal('pause');
      await until((p) => p.paused);
      await env.sleep('30m');
      await handle.signal('resume');
      await env.sleep('6m');
      await until((p) => p.pendingApproval?.step === 2);
      await handle.executeUpdate(approveUpdate, { args: [{ step: 2 }] });
    },
    expect: (o) => assert.equal(status(o), 'Completed'),
  },
  {
    // Between the steps, the route watch finds web back at 0 % (an HAProxy reload) and the workflow sets it again.
    name: 'route-reset',
    workflow: 'migrateCluster',
    args: [{ ...request, traffic: { steps: [25, 100], stepInterval: '5m' } } satisfies MigrationRequestInput],
    stubs: {
      watch: (n, expected) => (n === 1 && expected.web === 25
        ? { drifted: [{ route: 'web', expected: 25, found: 0, cause: "HAProxy's weights of backend web are those of its configuration" }], unreadable: [], checks: 4 }
        : undefined),
    },
    expect: (o) => assert.equal(status(o), 'Completed'),
  },
  {
    // The grayscale time threshold moves web to 100 % while the route api, with no ready workload, stays on the source.
    name: 'migrate-cutover',
    workflow: 'migrateCluster',
    args: [{
      ...request,
      routes: [...request.routes!, { name: 'api', router: 'haproxy', backend: 'api', workloads: ['billing/api'] }],
      traffic: { steps: [10, 25, 50, 100], stepInterval: '5m', cutoverAfter: '12m' },
    } satisfies MigrationRequestInput],
    stubs: { readiness: () => ready(1, { api: { ready: 0, total: 1 } }) },
    expect: (o) => {
      assert.equal(status(o), 'Completed');
      assert.deepEqual((o.result as { progress: MigrationProgress }).progress.cutover?.heldBack, ['api']);
    },
  },
  {
    // An operator rolls back by update while a step timer runs, asking for cleanup of the target.
    name: 'rollback-cleanup',
    workflow: 'migrateCluster',
    args: [request],
    async drive({ env, handle, until }) {
      await env.sleep('6m');
      await until((p) => p.routes[0]?.weight === 25);
      await handle.executeUpdate(rollbackUpdate, { args: [{ reason: 'error rate above the SLO', cleanup: true }] });
    },
    expect: (o) => {
      assert.equal(status(o), 'RolledBack');
      assert.equal((o.result as { progress: MigrationProgress }).progress.cleanup?.deleted, 12);
    },
  },
  {
    // The held step never gets its readiness: ReadinessTimeout after traffic moved, traffic back to the
    // source (the path behind patched('failed-phase-after-traffic-rollback')).
    name: 'held-step-timeout',
    workflow: 'migrateCluster',
    // A short readiness timeout keeps the history small: the 100 % step is held for four checks.
    args: [{ ...request, readiness: { pollInterval: '1m', timeout: '3m' } } satisfies MigrationRequestInput],
    stubs: { readiness: (n) => ready(n === 1 ? 2 : 1) },
    expect: (o) => assert.equal(o.failure?.type, 'ReadinessTimeout'),
  },
  {
    name: 'restore',
    workflow: 'migrateCluster',
    args: [{ ...request, task: 'restore', backupId: 'nightly-shop', routes: [] } satisfies MigrationRequestInput],
    stubs: { readiness: (n) => ready(n >= 3 ? 2 : n === 2 ? 1 : 0) },
    expect: (o) => assert.equal(status(o), 'Completed'),
  },
  {
    name: 'backup',
    workflow: 'migrateCluster',
    args: [{ ...request, task: 'backup', backupId: 'nightly-shop', routes: [] } satisfies MigrationRequestInput],
    expect: (o) => assert.equal(status(o), 'Completed'),
  },
  {
    name: 'plan',
    workflow: 'migrateCluster',
    args: [{ ...request, task: 'plan', routes: [] } satisfies MigrationRequestInput],
    expect: (o) => assert.equal(status(o), 'Planned'),
  },
  {
    name: 'bad-request',
    workflow: 'migrateCluster',
    args: [{ ...request, traffic: { steps: [50, 10], stepInterval: '-1s' } } satisfies MigrationRequestInput],
    expect: (o) => assert.equal(o.failure?.type, 'InvalidRequest'),
  },
  {
    // An operator promotes to the next step during its interval, then fully: every route to 100 % at once.
    name: 'promote-full',
    workflow: 'migrateCluster',
    args: [request],
    async drive({ handle, until }) {
      await until((p) => p.routes[0]?.weight === 10);
      await handle.executeUpdate(promoteUpdate, { args: [{}] });
      await until((p) => p.routes[0]?.weight === 25);
      await handle.executeUpdate(promoteUpdate, { args: [{ full: true }] });
    },
    expect: (o) => {
      assert.equal(status(o), 'Completed');
      assert.equal((o.result as { progress: MigrationProgress }).progress.cutover?.by, 'promote');
    },
  },
  {
    // The admission preflight finds a quota that refuses billing/api's pods: the migration fails before its workload wave.
    name: 'admission-refused',
    workflow: 'migrateCluster',
    args: [request],
    stubs: { admission: quotaRefusal },
    expect: (o) => assert.equal(o.failure?.type, 'AdmissionRefused'),
  },
  {
    // The same with admission: warn: reported, and the migration goes on.
    name: 'admission-warn',
    workflow: 'migrateCluster',
    args: [{ ...request, admission: 'warn' } satisfies MigrationRequestInput],
    stubs: { admission: quotaRefusal, readiness: () => ready(2) },
    expect: (o) => {
      assert.equal(status(o), 'Completed');
      assert.equal((o.result as { progress: MigrationProgress }).progress.admission?.refused, 1);
    },
  },
  {
    // kubeferry cleanup of an ended migration: routes back to the source, then what it created deleted.
    name: 'kubeferry-cleanup-shop-to-target',
    workflow: 'cleanupMigration',
    args: [{
      migrationId: 'shop-to-target', backupId: 'shop-to-target', target: 'target', storage, namespaceMapping: {},
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', sourceServer: 'source', targetServer: 'target', workloads: ['shop/web'] }],
    }],
    expect: (o) => assert.equal((o.result as { deleted: number }).deleted, 12),
  },
  {
    name: 'list-backups',
    workflow: 'listBackups',
    args: [storage, 20],
    expect: (o) => assert.equal((o.result as BackupListing[]).length, listing.length),
  },
  {
    name: 'describe-backup',
    workflow: 'describeBackup',
    args: [storage, 'nightly-shop'],
    expect: (o) => assert.equal((o.result as BackupSummary).backupId, 'nightly-shop'),
  },
];

/** Activities that answer like the real ones (src/activities/contract.ts) without touching anything. */
function stubActivities(stubs: Stubs = {}): MigrationActivities {
  let readinessChecks = 0;
  let watches = 0;
  return {
    async checkConnectivity(i) {
      return {
        ...(i.needs.source ? { source: { version: 'v1.36.3' } } : {}),
        ...(i.needs.target ? { target: { version: 'v1.36.3' } } : {}),
        storage: { bucket: i.storage.bucket, roundTripMs: 4 },
      };
    },
    async backupResources(i) {
      return backupSummary(i.backupId);
    },
    async describeBackup(i) {
      return backupSummary(i.backupId);
    },
    async listBackups(i) {
      return listing.slice(0, i.limit);
    },
    async planMigration() {
      return planReport;
    },
    async preflightRestore() {
      return { objects: 12, conflicts: 0, examples: [] };
    },
    async restoreWave(i) {
      const count = backupSummary('').waves[i.wave]?.count ?? 0;
      return { wave: i.wave, created: count, skipped: 0, updated: 0, differing: 0, differences: [], failed: 0, errors: [] };
    },
    async checkReadiness() {
      readinessChecks += 1;
      return stubs.readiness?.(readinessChecks) ?? ready(2);
    },
    async awaitReadiness(i) {
      // The real activity's polls without their sleeps.
      for (let waitedMs = 0; ; waitedMs += i.pollMs) {
        readinessChecks += 1;
        const report = stubs.readiness?.(readinessChecks) ?? ready(2);
        if (goalReached(i.goal, report) || waitedMs >= i.maxWaitMs) return { ...report, waitedMs };
      }
    },
    async checkAdmission() {
      return stubs.admission?.() ?? { checked: 2, refused: 0, refusals: [] };
    },
    async verifyRoutes(i) {
      return { weights: Object.fromEntries(i.routes.map((r) => [r.name, 0])), deferred: [] };
    },
    async setRouteWeight(i) {
      return { route: i.route.name, weight: i.weight };
    },
    async watchRouteWeights(i) {
      // The real watch returns after maxWatchMs with nothing found; this one at once (the workflow then
      // waits out the period on a timer), or with the drift a scenario makes.
      watches += 1;
      return stubs.watch?.(watches, i.expected) ?? { drifted: [], unreadable: [], checks: 1 };
    },
    async cleanupRestored() {
      return { deleted: 12, failed: 0, errors: [] };
    },
  };
}

async function record(scenario: Scenario, bundle: WorkflowBundleWithSourceMap, outFile: string): Promise<void> {
  // A server per scenario: its clock and time-skipping locks stay with the run that moved them.
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
    client: { identity: IDENTITY },
  });
  try {
    await registerSearchAttributes(env.connection);
    const taskQueue = `histories-${scenario.name}`;
    const worker = await Worker.create({
      connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stubActivities(scenario.stubs), identity: IDENTITY,
    });
    const handle = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(scenario.workflow, { taskQueue, workflowId: scenario.name, args: scenario.args });
      const until = async (check: (p: MigrationProgress) => boolean) => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const progress = await handle.query<MigrationProgress>('progress');
          if (check(progress)) return progress;
          if (Date.now() > deadline) throw new Error(`${scenario.name}: progress never got there: ${JSON.stringify(progress)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await scenario.drive?.({ env, handle, until });
      try {
        scenario.expect({ result: await handle.result() });
      } catch (err) {
        if (!(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure)) throw err;
        scenario.expect({ failure: err.cause });
      }
      return handle;
    });
    // The Temporal CLI writes the history in the JSON form the Web UI downloads and the replayer reads
    // (the SDK's own converter is not part of its public API).
    const shown = execFileSync(temporalCliPath(), [
      'workflow', 'show', '--address', env.address, '--namespace', 'default', '--workflow-id', handle.workflowId, '--output', 'json',
    ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const { events } = JSON.parse(shown) as { events: { markerRecordedEventAttributes?: { markerName?: string } }[] };
    // One event per line: small, and a re-recording diffs event by event.
    const json = `{"events": [\n${events.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
    fs.writeFileSync(outFile, json);
    const patches = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length;
    console.log(`${path.relative(repoRoot, outFile)}: ${events.length} events, ${json.length} bytes${patches ? `, ${patches} patch marker(s)` : ''}`);
  } finally {
    await env.teardown();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workflows: { type: 'string' },
      only: { type: 'string' },
      suffix: { type: 'string' },
      out: { type: 'string', default: path.join(repoRoot, 'test/histories') },
    },
  });
  let workflowsPath = currentWorkflows;
  if (values.workflows) {
    const given = path.resolve(values.workflows);
    workflowsPath = fs.statSync(given).isDirectory() ? path.join(given, 'index.ts') : given;
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((name) => !scenarios.some((s) => s.name === name)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  if (values.suffix !== undefined && !/^[a-z0-9-]+$/.test(values.suffix)) throw new Error('--suffix: lower-case letters, digits and "-"');

  quietRuntime();
  console.log(`bundling ${path.relative(process.cwd(), workflowsPath) || workflowsPath}`);
  const bundle = await bundleWorkflowCode({
    workflowsPath,
    // A checkout without node_modules of its own (a git worktree in /tmp) uses this repository's.
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, modules: [...(config.resolve?.modules ?? ['node_modules']), path.join(repoRoot, 'node_modules')] },
    }),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never,
  });
  fs.mkdirSync(values.out, { recursive: true });
  for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
    await record(scenario, bundle, path.join(values.out, `${scenario.name}${values.suffix ? `.${values.suffix}` : ''}.json`));
  }
}

await main();
