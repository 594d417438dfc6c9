// The migration workflow on Temporal's time-skipping test server, with stubbed activities: step timers,
// pause during a timer, rollback from restore and from traffic, readiness capping, bad input.
import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { MigrationActivities, ReadinessReport, WatchRoutesResult } from '../../src/activities/contract.js';
import { finalProgressOf, getProgress } from '../../src/client.js';
import { goalReached } from '../../src/domain/readiness-goal.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { workflowsPath } from '../../src/worker.js';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';
import { approveUpdate, pauseUpdate, promoteUpdate, resumeUpdate, type MigrationProgress } from '../../src/workflows/messages.js';
import { quietRuntime, registerSearchAttributes } from '../support/runtime.js';
import { timeSkippingServerPath } from '../support/stack.js';

const request: MigrationRequestInput = {
  source: { cluster: 'source' },
  target: { cluster: 'target' },
  storage: { bucket: 'kubeferry' },
  namespaces: { include: ['shop'] },
  routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] }],
  traffic: { steps: [10, 25, 50, 100], stepInterval: '5m' },
  readiness: { pollInterval: '10s', timeout: '10m' },
};

interface Calls {
  weights: { weight: number; at: number; route?: string }[];
  waves: string[][];
  cleanups?: number;
}

type Hooks = Partial<{
  onBackup(id: string): Promise<void>;
  onWeight(weight: number, id: string, route: string): Promise<void>;
  onWave(kinds: string[], id: string): Promise<void>;
  readiness(call: number): ReadinessReport;
  watch(call: number, expected: Record<string, number>): WatchRoutesResult | undefined;
}>;

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

before(async () => {
  quietRuntime();
  bundle = await bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never });
});
// A server per test: the test server's clock and its time-skipping locks stay with the test that moved them.
beforeEach(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } },
  });
  await registerSearchAttributes(env.connection);
});
afterEach(async () => {
  await env?.teardown();
});

let counter = 0;
async function run(
  input: MigrationRequestInput,
  hooks: Hooks = {},
  calls: Calls = { weights: [], waves: [] },
  during?: (id: string) => Promise<void>,
  id = `wf-test-${++counter}`,
) {
  const taskQueue = `q-${++counter}`;
  let readinessCalls = 0;
  let watches = 0;
  const check = async () => {
    readinessCalls += 1;
    return hooks.readiness?.(readinessCalls) ?? { overall: { ready: 1, total: 1 }, routes: { web: { ready: 1, total: 1 } }, notReady: [] };
  };
  const activities: MigrationActivities = {
    async checkConnectivity() {
      return { storage: { bucket: 'kubeferry', roundTripMs: 1 } };
    },
    async backupResources(i) {
      await hooks.onBackup?.(id);
      return {
        backupId: i.backupId, sourceCluster: 'source', sourceVersion: 'v1.36.3', completedAt: '2026-01-01T00:00:00Z',
        namespaces: ['shop'], objects: 6, workloads: 1, leftOut: {},
        kinds: [{ kind: 'Namespace', count: 1 }, { kind: 'ConfigMap', count: 2 }, { kind: 'Deployment', count: 1 }, { kind: 'Service', count: 2 }],
        waves: [
          { index: 0, kinds: ['Namespace'], count: 1 }, { index: 1, kinds: ['ConfigMap'], count: 2 },
          { index: 2, kinds: ['Deployment'], count: 1 }, { index: 3, kinds: ['Service'], count: 2 },
        ],
        plan: { brokenCycles: 0, outside: 0 },
      };
    },
    async preflightRestore() {
      return { objects: 6, conflicts: 0, examples: [] };
    },
    async describeBackup() {
      throw new Error('not used');
    },
    async listBackups() {
      throw new Error('not used');
    },
    async planMigration() {
      throw new Error('not used');
    },
    async cleanupRestored() {
      calls.cleanups = (calls.cleanups ?? 0) + 1;
      return { deleted: 12, failed: 0, errors: [] };
    },
    async restoreWave(i) {
      calls.waves.push(i.kinds);
      await hooks.onWave?.(i.kinds, id);
      return { wave: i.wave, created: i.kinds.length, skipped: 0, updated: 0, failed: 0, errors: [], differing: 0, differences: [] };
    },
    checkReadiness: check,
    async awaitReadiness(i) {
      // The real activity's polls, each a heartbeat (where a cancellation arrives) and a short real sleep
      // standing for pollMs: over at the goal, or once maxWaitMs of polls have passed.
      for (let waitedMs = 0; ; waitedMs += i.pollMs) {
        const report = await check();
        if (goalReached(i.goal, report) || waitedMs >= i.maxWaitMs) return { ...report, waitedMs };
        Context.current().heartbeat({ ready: report.overall.ready, total: report.overall.total });
        await Context.current().sleep(20);
      }
    },
    async checkAdmission() {
      return { checked: 1, refused: 0, refusals: [] };
    },
    async verifyRoutes(i) {
      return { weights: Object.fromEntries(i.routes.map((r) => [r.name, 0])), deferred: [] };
    },
    async watchRouteWeights(i) {
      // The real watch returns after maxWatchMs with nothing found; this one at once (the workflow then
      // waits out the period on a timer), or with the drift a test makes.
      watches += 1;
      return hooks.watch?.(watches, i.expected) ?? { drifted: [], unreadable: [], checks: 1 };
    },
    async setRouteWeight(i) {
      // Workflow (skipped) time at which the step scheduled this call.
      calls.weights.push({ weight: i.weight, at: Context.current().info.scheduledTimestampMs, route: i.route.name });
      await hooks.onWeight?.(i.weight, id, i.route.name);
      return { route: i.route.name, weight: i.weight };
    },
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities,
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start('migrateCluster', { taskQueue, workflowId: id, args: [input] });
    // Time skips on its own only while a result is awaited; `during` drives time with env.sleep itself.
    await during?.(id);
    const result = await handle.result();
    return { result, calls, handle };
  });
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Keeps an activity running until the workflow cancels it, as a real bulk activity would be; it heartbeats,
 * so it learns of the cancellation and stops. (An activity that completes while its cancellation is in
 * flight wedges the time-skipping test server.)
 */
async function untilCancelled(): Promise<void> {
  const ctx = Context.current();
  for (let i = 0; i < 100 && !ctx.cancellationSignal.aborted; i++) {
    ctx.heartbeat();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const signal = (id: string, name: string, arg?: unknown) =>
  env.client.workflow.getHandle(id).signal(name, ...(arg === undefined ? [] : [arg]));

describe('migrateCluster workflow', () => {
  it('restores in waves, then moves traffic in timer-driven steps to 100%', async () => {
    const { result, calls } = await run(request);
    assert.equal(result.status, 'Completed');
    assert.deepEqual(calls.waves, [['Namespace'], ['ConfigMap'], ['Deployment'], ['Service']]);
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 50, 100]);
    // Each step fires one step interval (5 minutes of workflow time) after the previous one.
    const gaps = calls.weights.slice(1).map((w, i) => w.at - calls.weights[i]!.at);
    for (const gap of gaps) assert.ok(gap >= 5 * 60_000 - 1000 && gap < 6 * 60_000, `gap ${gap} ms is not about 5 minutes`);
    assert.deepEqual(result.progress.routes, [{ name: 'web', weight: 100, ready: 1, total: 1 }]);
  });

  it('sets a route again when the watch finds it at another weight between steps (an HAProxy reload), says so, and keeps the step clock', async () => {
    let found = false;
    const { result, calls } = await run(request, {
      watch(_call, expected) {
        if (expected.web !== 25 || found) return undefined;
        found = true;
        return { drifted: [{ route: 'web', expected: 25, found: 0, cause: 'the weights are those of its configuration' }], unreadable: [], checks: 3 };
      },
    });
    assert.equal(result.status, 'Completed');
    assert.ok(found, 'the watch never ran while the route was at 25%');
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 25, 50, 100]);
    // Set again within the step interval; the next step still comes one interval after the 25% step.
    assert.ok(calls.weights[2]!.at - calls.weights[1]!.at < 60_000);
    const gap = calls.weights[3]!.at - calls.weights[1]!.at;
    assert.ok(gap >= 5 * 60_000 - 1000 && gap < 6 * 60_000, `gap ${gap} ms is not about 5 minutes`);
    assert.deepEqual(result.progress.routes, [{ name: 'web', weight: 100, ready: 1, total: 1, resets: 1 }]);
    assert.deepEqual(result.progress.errors, ['route web: found at 0% to the target where 25% was set (the weights are those of its configuration); setting it to 25% again']);
  });

  it('holds the step timer while paused and continues after resume', async () => {
    let pauseSent!: () => void;
    const paused = new Promise<void>((resolve) => (pauseSent = resolve));
    let progressWhilePaused: MigrationProgress | undefined;
    const calls: Calls = { weights: [], waves: [] };
    const { result } = await run(
      request,
      {
        async onWeight(weight, id) {
          if (weight === 25) {
            await signal(id, 'pause');
            pauseSent();
          }
        },
      },
      calls,
      async (id) => {
        // Step 1 fires at once, step 2 after the 5-minute interval; its router call sends the pause.
        await env.sleep('6m');
        await paused;
        await waitFor(async () => (await env.client.workflow.getHandle(id).query<MigrationProgress>('progress')).paused);
        // An hour of workflow time passes while paused: no further step may fire.
        await env.sleep('1h');
        progressWhilePaused = await env.client.workflow.getHandle(id).query<MigrationProgress>('progress');
        await signal(id, 'resume');
      },
    );
    assert.equal(result.status, 'Completed');
    assert.equal(progressWhilePaused?.paused, true);
    assert.equal(progressWhilePaused?.step.index, 2);
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 50, 100]);
    const pausedGap = calls.weights[2]!.at - calls.weights[1]!.at;
    assert.ok(pausedGap >= 65 * 60_000 - 1000, `the step after the pause came ${pausedGap} ms later, before pause + interval`);
  });

  it('rolls back during a step timer: all traffic back on the source at once', async () => {
    const calls: Calls = { weights: [], waves: [] };
    const { result } = await run(request, {}, calls, async (id) => {
      // Steps fire at 0, 5 and 10 minutes; at 11 minutes the 50% step's timer is running.
      await env.sleep('11m');
      await waitFor(async () => calls.weights.length === 3);
      await signal(id, 'rollback', { reason: 'error rate' });
    });
    assert.equal(result.status, 'RolledBack');
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 50, 0]);
    assert.equal(calls.weights[3]!.at - calls.weights[2]!.at < 2 * 60_000, true, 'the rollback waited for the step timer');
    assert.equal(result.progress.routes[0]!.weight, 0);
    assert.ok(result.progress.errors.some((e: string) => e.includes('error rate')));
  });

  it('rolls back during restore: no more waves, traffic stays on the source', async () => {
    const { result, calls } = await run(request, {
      async onWave(kinds, id) {
        if (!kinds.includes('ConfigMap')) return;
        await signal(id, 'rollback');
        await untilCancelled();
      },
    });
    assert.equal(result.status, 'RolledBack');
    assert.ok(calls.waves.length <= 3, `restore went on after rollback: ${JSON.stringify(calls.waves)}`);
    assert.deepEqual(calls.weights.map((w) => w.weight), [0]);
  });

  it('never sends more traffic than the grayscale ratio allows, and holds a step until it does', async () => {
    const twoWorkloads = (ready: number): ReadinessReport => ({
      overall: { ready, total: 2 }, routes: { web: { ready: Math.min(ready, 1), total: 1 } }, notReady: ready < 2 ? ['shop/api'] : [],
    });
    // Ready 0/2 on the first poll, 2/2 on the second; one workload drops out while traffic moves
    // (polls 3-6) and is back from the 7th poll on.
    const readyAt = (n: number) => (n === 2 || n >= 7 ? 2 : n < 2 ? 0 : 1);
    let lastPoll = 0;
    const pollAtWeight: [number, number][] = [];
    const { result, calls } = await run(request, {
      readiness: (n) => { lastPoll = n; return twoWorkloads(readyAt(n)); },
      onWeight: async (weight) => { pollAtWeight.push([weight, lastPoll]); },
    });
    assert.equal(result.status, 'Completed');
    // With half the workloads ready the 100% step is held at 50% until the ratio allows 100%.
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 50, 100]);
    const at100 = pollAtWeight.find(([w]) => w === 100)![1];
    assert.ok(at100 >= 7, `the 100% step was not held until the 7th poll: it came after poll ${at100}`);
  });

  it('fails and moves traffic back when a held step waits past the readiness timeout', async () => {
    const halfReady: ReadinessReport = { overall: { ready: 1, total: 2 }, routes: { web: { ready: 1, total: 1 } }, notReady: ['shop/api'] };
    const allReady: ReadinessReport = { overall: { ready: 2, total: 2 }, routes: { web: { ready: 1, total: 1 } }, notReady: [] };
    const calls: Calls = { weights: [], waves: [] };
    await assert.rejects(
      run(request, { readiness: (n) => (n === 1 ? allReady : halfReady) }, calls, undefined, 'wf-held-timeout'),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'ReadinessTimeout');
        assert.match(err.cause.message, /not ready: shop\/api/);
        return true;
      },
    );
    // The failed migration keeps its final progress in its memo, for status.
    const final = finalProgressOf((await env.client.workflow.getHandle('wf-held-timeout').describe()).memo);
    assert.equal(final?.phase, 'failed');
    assert.equal(final?.routes[0]?.weight, 0);
    assert.ok(final?.errors.some((e) => /was held for 10m/.test(e)));
    // Held at 50% (the ratio) for the readiness timeout, then everything back to the source.
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 50, 0]);
    // It ends as failed, not as a rollback in progress, for the Web UI and `list`.
    const attrs = (await env.client.workflow.getHandle('wf-held-timeout').describe()).typedSearchAttributes;
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.phase), 'failed');
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.trafficWeight), 0);
  });

  it('rejects a migration id that cannot be an S3 key segment or a label value', async () => {
    await assert.rejects(run(request, {}, undefined, undefined, 'Shop/../x'), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'InvalidRequest');
      assert.match(err.cause.message, /migration id "Shop\/\.\.\/x" must be lower-case letters/);
      return true;
    });
  });

  it('rejects a bad request at once, naming the fields, without retries', async () => {
    await assert.rejects(
      run({ ...request, traffic: { steps: [50, 10], stepInterval: '-1s' } }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, 'InvalidRequest');
        assert.match(err.cause.message, /traffic\.steps\.1: weights must increase/);
        assert.match(err.cause.message, /traffic\.stepInterval/);
        return true;
      },
    );
  });

  const progressOf = (id: string) => env.client.workflow.getHandle(id).query<MigrationProgress>('progress');
  // Updates by name: each returns the migration's state after it.
  const update = (id: string, def: Pick<UpdateDefinition<MigrationProgress>, 'name'>, ...args: unknown[]): Promise<MigrationProgress> => {
    const handle = env.client.workflow.getHandle(id) as unknown as { executeUpdate(name: string, o: { args: unknown[] }): Promise<MigrationProgress> };
    return handle.executeUpdate(def.name, { args });
  };
  const rejected = async (p: Promise<unknown>, message: RegExp) =>
    assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.match(String((err.cause as Error | undefined)?.message ?? err.message), message);
      return true;
    });

  it('waits at an approval gate until approved, rejecting updates that make no sense, and answers updates with the new state', async () => {
    const gated: MigrationRequestInput = { ...request, traffic: { steps: [10, { weight: 50, approval: true }, 100], stepInterval: '5m' } };
    const calls: Calls = { weights: [], waves: [] };
    const { result, handle } = await run(gated, {}, calls, async (id) => {
      await env.sleep('6m');
      await waitFor(async () => (await progressOf(id)).pendingApproval !== undefined);
      // Nothing moves while the gate waits, however long.
      await env.sleep('2h');
      const waiting = await progressOf(id);
      assert.deepEqual({ ...waiting.pendingApproval, since: undefined }, { step: 2, weight: 50, since: undefined });
      assert.deepEqual(calls.weights.map((w) => w.weight), [10]);
      await rejected(update(id, approveUpdate, { step: 3 }), /step 2 \(50%\) is waiting for approval, not step 3/);
      await rejected(update(id, resumeUpdate), /not paused/);
      // Signals that make no sense change nothing; repeated ones act once.
      await signal(id, 'resume');
      await signal(id, 'approve', { step: 7 });
      assert.equal((await progressOf(id)).pendingApproval?.step, 2);
      const paused = await update(id, pauseUpdate);
      assert.equal(paused.paused, true);
      await rejected(update(id, pauseUpdate), /already paused/);
      await signal(id, 'pause');
      const approved = await update(id, approveUpdate, { step: 2 });
      assert.equal(approved.pendingApproval, undefined);
      await rejected(update(id, approveUpdate), /no step is waiting for approval/);
      await env.sleep('30m');
      // Approved but paused: the step waits for resume.
      assert.deepEqual(calls.weights.map((w) => w.weight), [10]);
      assert.equal((await update(id, resumeUpdate)).paused, false);
    });
    assert.equal(result.status, 'Completed');
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 50, 100]);
    assert.ok(calls.weights[1]!.at - calls.weights[0]!.at >= 2.5 * 3600_000, 'the gated step did not wait for approval');
    // Typed search attributes follow the migration.
    const attrs = (await handle.describe()).typedSearchAttributes;
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.phase), 'completed');
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.trafficWeight), 100);
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.readyPercent), 100);
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.migrationId), handle.workflowId);
    assert.equal(attrs.get(SEARCH_ATTRIBUTES.targetCluster), 'target');
  });

  it('moves all traffic once the grayscale time threshold passes, except a route with no ready workload, which it reports', async () => {
    const twoRoutes: MigrationRequestInput = {
      ...request,
      routes: [...request.routes!, { name: 'api', router: 'haproxy', backend: 'api', workloads: ['shop/api'] }],
      traffic: { steps: [10, 25, 50, 100], stepInterval: '5m', cutoverAfter: '12m' },
    };
    // web is ready, api never is: the ratio allows 50 %, and api's route gets nothing.
    const report: ReadinessReport = { overall: { ready: 1, total: 2 }, routes: { web: { ready: 1, total: 1 }, api: { ready: 0, total: 1 } }, notReady: ['shop/api'] };
    const calls: Calls = { weights: [], waves: [] };
    const { result } = await run(twoRoutes, { readiness: () => report }, calls);
    assert.equal(result.status, 'Completed');
    const web = calls.weights.filter((w) => w.route === 'web');
    assert.deepEqual(web.map((w) => w.weight), [10, 25, 50, 100]);
    // The 100 % came with the threshold at 12 minutes, not with a step.
    assert.ok(Math.abs(web[3]!.at - web[0]!.at - 12 * 60_000) < 60_000, `cutover after ${(web[3]!.at - web[0]!.at) / 1000} s`);
    assert.deepEqual(calls.weights.filter((w) => w.route === 'api'), []);
    assert.deepEqual(result.progress.cutover?.heldBack, ['api']);
    assert.ok(result.progress.errors.some((e: string) => /routes api have no ready workload/.test(e)));
  });

  it('promote moves to the next step now, and promote --full sends every route to 100% at once, skipping the steps left', async () => {
    const calls: Calls = { weights: [], waves: [] };
    const { result } = await run(request, {}, calls, async (id) => {
      await env.sleep('1m');
      await waitFor(async () => calls.weights.length === 1);
      // Step 1 (10 %) is applied; step 2 is due in 5 minutes: promote makes it due now.
      const promoted = await update(id, promoteUpdate, {});
      assert.equal(promoted.phase, 'traffic');
      await waitFor(async () => calls.weights.length === 2);
      await update(id, pauseUpdate);
      await rejected(update(id, promoteUpdate, { full: true }), /paused: resume first/);
      await update(id, resumeUpdate);
      await update(id, promoteUpdate, { full: true });
    });
    assert.equal(result.status, 'Completed');
    assert.deepEqual(calls.weights.map((w) => w.weight), [10, 25, 100]);
    assert.ok(calls.weights[1]!.at - calls.weights[0]!.at < 4 * 60_000, 'promote did not skip the step interval');
    assert.equal(result.progress.cutover?.by, 'promote');
    assert.deepEqual(result.progress.cutover?.heldBack, []);
  });

  it('refuses promote --full while a route has no ready workload in the target, and promote before traffic moves', async () => {
    const twoRoutes: MigrationRequestInput = {
      ...request,
      routes: [...request.routes!, { name: 'api', router: 'haproxy', backend: 'api', workloads: ['shop/api'] }],
      traffic: { steps: [10, 25, 50, 100], stepInterval: '5m' },
    };
    const report: ReadinessReport = { overall: { ready: 1, total: 2 }, routes: { web: { ready: 1, total: 1 }, api: { ready: 0, total: 1 } }, notReady: ['shop/api'] };
    const calls: Calls = { weights: [], waves: [] };
    const hooks: Hooks = {
      readiness: () => report,
      onWave: async (kinds, id) => {
        if (kinds[0] === 'Namespace') await rejected(update(id, promoteUpdate, { full: true }), /traffic is not moving \(phase restore\)/);
      },
    };
    const { result } = await run(twoRoutes, hooks, calls, async (id) => {
      await waitFor(async () => calls.weights.length >= 1);
      await rejected(update(id, promoteUpdate, { full: true }), /routes without a ready workload in the target would get all their traffic: api \(0 of 1 ready\)/);
      await signal(id, 'rollback', { reason: 'test over' });
    });
    assert.equal(result.status, 'RolledBack');
    assert.ok(calls.weights.every((w) => w.weight < 100), 'promote --full moved traffic despite the refusal');
  });

  for (const phase of ['backup', 'readiness', 'pause', 'after cutover'] as const) {
    it(`rolls back from ${phase}: every route back to the source, then the migration's objects cleaned up on request`, async () => {
      const calls: Calls = { weights: [], waves: [] };
      // A long readiness timeout: the stand-in activity's polls take 20 ms each, and the rollback must find it still waiting.
      const input: MigrationRequestInput = { ...request, traffic: { steps: [50, 100], stepInterval: '5m', observeFor: '1h' }, readiness: { pollInterval: '10s', timeout: '2h' } };
      const rollback = (id: string) => signal(id, 'rollback', { reason: `from ${phase}`, cleanup: true });
      const notReadyUntil = phase === 'readiness' ? 1000 : 0;
      const hooks: Hooks = {
        readiness: (n) => (n <= notReadyUntil
          ? { overall: { ready: 0, total: 1 }, routes: { web: { ready: 0, total: 1 } }, notReady: ['shop/web'] }
          : { overall: { ready: 1, total: 1 }, routes: { web: { ready: 1, total: 1 } }, notReady: [] }),
        ...(phase === 'backup' ? { onBackup: async (id: string) => {
          await rollback(id);
          await untilCancelled();
        } } : {}),
      };
      const { result } = await run(input, hooks, calls, async (id) => {
        if (phase === 'readiness') {
          // No time skipped here: readiness is one activity polling (heartbeating) in real time, and skipped time
          // would run out its heartbeat timeout.
          await waitFor(async () => (await progressOf(id)).phase === 'readiness');
          // The workflow's own counts wait for the activity's end; the client reads the last poll's heartbeat.
          await waitFor(async () => (await getProgress(env.client, id)).readiness.total === 1);
          await rollback(id);
        }
        if (phase === 'pause') {
          await signal(id, 'pause');
          await env.sleep('1m');
          await rollback(id);
        }
        if (phase === 'after cutover') {
          await env.sleep('10m');
          await waitFor(async () => calls.weights.some((w) => w.weight === 100));
          await rollback(id);
        }
      });
      assert.equal(result.status, 'RolledBack');
      assert.equal(calls.weights.at(-1)?.weight, 0);
      assert.equal(result.progress.routes[0]!.weight, 0);
      assert.equal(calls.cleanups, 1);
      assert.deepEqual(result.progress.cleanup, { deleted: 12, failed: 0 });
      assert.ok(result.progress.errors.includes(`rollback requested: from ${phase}`));
    });
  }
});

describe('a rollback with one router broken for good', () => {
  const twoRoutes: MigrationRequestInput = {
    ...request, routes: [...request.routes!, { name: 'api', router: 'haproxy', backend: 'api', workloads: ['shop/web'] }],
    traffic: { steps: [50, 100], stepInterval: '5m' },
  };
  const readiness = () => ({ overall: { ready: 1, total: 1 }, routes: { web: { ready: 1, total: 1 }, api: { ready: 1, total: 1 } }, notReady: [] });
  const failureOfRun = async (promise: Promise<unknown>) => {
    const err = await promise.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    return err.cause;
  };

  it('sends every other route to the source, cleans up when the broken route carried no traffic, and fails naming the route', async () => {
    let rollingBack = false;
    const calls: Calls = { weights: [], waves: [] };
    const failure = await failureOfRun(run(twoRoutes, {
      readiness,
      onBackup: async (id) => {
        rollingBack = true;
        await signal(id, 'rollback', { reason: 'test', cleanup: true });
        await untilCancelled();
      },
      onWeight: async (_weight, _id, route) => {
        if (rollingBack && route === 'api') throw ApplicationFailure.nonRetryable('HAProxy: no such backend api', 'RouterMisconfigured');
      },
    }, calls));
    assert.equal(failure.type, 'RollbackIncomplete');
    assert.match(failure.message, /^rollback incomplete: route api could not be sent back to the source \(HAProxy: no such backend api\)\. Every other route is on the source\. The cleanup ran\./);
    assert.deepEqual(calls.weights.filter((w) => w.route === 'web').map((w) => w.weight), [0]);
    assert.equal(calls.cleanups, 1);
  });

  it('keeps what the target serves while the broken route may still send traffic there: no cleanup, and says what to run once it is fixed', async () => {
    let rollingBack = false;
    const calls: Calls = { weights: [], waves: [] };
    const failure = await failureOfRun(run({ ...twoRoutes, traffic: { ...twoRoutes.traffic!, observeFor: '1h' } }, {
      readiness,
      onWeight: async (_weight, _id, route) => {
        if (rollingBack && route === 'api') throw ApplicationFailure.nonRetryable('HAProxy admin socket refused', 'RouterUnavailable');
      },
    }, calls, async (id) => {
      await env.sleep('10m');
      await waitFor(async () => calls.weights.filter((w) => w.weight === 100).length === 2);
      rollingBack = true;
      await signal(id, 'rollback', { reason: 'test', cleanup: true });
    }));
    assert.equal(failure.type, 'RollbackIncomplete');
    assert.match(failure.message, /Nothing was cleaned up, since api may still send traffic to the target\. .*run 'kubeferry cleanup wf-test-\d+'/);
    assert.equal(calls.weights.filter((w) => w.route === 'web').at(-1)?.weight, 0);
    assert.equal(calls.cleanups ?? 0, 0);
  });
});

describe('cleanupMigration workflow', () => {
  it('moves every route back to the source before deleting what the migration created, and reports removed and kept', async () => {
    const order: string[] = [];
    const taskQueue = `q-cleanup-${++counter}`;
    const worker = await Worker.create({
      connection: env.nativeConnection, taskQueue, workflowBundle: bundle,
      activities: {
        async setRouteWeight(i: { route: { name: string }; weight: number }) {
          order.push(`weight ${i.route.name}=${i.weight}`);
          return { route: i.route.name, weight: i.weight };
        },
        async cleanupRestored(i: { migrationId: string; runId?: string }) {
          order.push(`cleanup ${i.migrationId} run ${i.runId}`);
          return { deleted: 7, failed: 0, errors: [], kept: 1, keptExamples: ['ConfigMap shop/shared (it existed before the migration)'], removed: [{ kind: 'Namespace', count: 1 }] };
        },
      },
    });
    const args = [{
      migrationId: 'm1', backupId: 'm1', target: 'target', storage: { bucket: 'kubeferry', prefix: 'p' }, namespaceMapping: {},
      routes: [{ name: 'web', router: 'haproxy', backend: 'web', sourceServer: 'source', targetServer: 'target', workloads: ['shop/web'] }],
    }];
    const report = await worker.runUntil(async () => {
      // Only under its own id: one cleanup per migration.
      await assert.rejects(env.client.workflow.execute('cleanupMigration', { taskQueue, workflowId: 'not-the-cleanup-id', args }), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
        assert.match(err.cause.message, /runs as workflow kubeferry-cleanup-m1/);
        return true;
      });
      return env.client.workflow.execute('cleanupMigration', { taskQueue, workflowId: 'kubeferry-cleanup-m1', args });
    }) as { deleted: number; kept: number; routes: { name: string; weight: number }[] };
    assert.deepEqual(order, ['weight web=0', 'cleanup m1 run undefined']);
    assert.equal(report.deleted, 7);
    assert.equal(report.kept, 1);
    assert.deepEqual(report.routes, [{ name: 'web', weight: 0 }]);
  });
});
