// Route checks on the real stack: an HTTPRoute that the migration itself brings into the target is a
// valid route (checked in the backup, then in the target after the restore); one whose copy cannot route,
// one the selection leaves out, and one that neither exists nor comes with the migration are refused
// before anything is written to the target, naming it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { startMigration } from '../../src/client.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { GatewayApiRouter } from '../../src/routers/gateway-api.js';
import { kubeconfigFrom, stackEnv, startStackWorker, type StackWorker } from '../support/stack.js';

const env = stackEnv();
const run = `rc-${randomBytes(3).toString('hex')}`;
const app = `${run}-app`;
const unselected = `${run}-other`;
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };
const routes = (ns: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`;
let stack: StackWorker;

const httpRoute = (name: string, backends: string[]) => ({
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name },
  spec: { parentRefs: [{ name: 'edge' }], rules: [{ backendRefs: backends.map((b, i) => ({ name: b, port: 80, weight: i === 0 ? 100 : 0 })) }] },
});

async function seedApp(rest: KubeRest, ns: string) {
  await rest.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await rest.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      metadata: { name: 'web' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } } },
    },
  });
  await rest.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  await rest.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { metadata: { name: 'web-source' }, spec: { type: 'ExternalName', externalName: 'web.source.example' } } });
  await rest.request('POST', routes(ns), { body: httpRoute('web', ['web-source', 'web']) });
  await rest.request('POST', routes(ns), { body: httpRoute('broken', ['web']) });
}

/** A migration of the app into its own target namespace, with one gateway-api route there. */
const request = (into: string, httpRouteName: string, extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput => ({
  source: { cluster: 'source' }, target: { cluster: 'target' }, storage,
  namespaces: { include: [app], mapping: [`${app}:${into}`] },
  routes: [{
    name: 'edge', router: 'gateway-api', cluster: 'target', namespace: into, httpRoute: httpRouteName,
    sourceBackend: 'web-source', targetBackend: 'web', workloads: [`${app}/web`],
  }],
  traffic: { steps: [50, 100], stepInterval: '1s' },
  readiness: { pollInterval: '1s', timeout: '1m' },
  ...extra,
});

/** The failing activity and its failure. */
async function refusal(id: string, input: MigrationRequestInput): Promise<{ at: string; failure: ApplicationFailure }> {
  const err = await (await startMigration(stack.client, stack.config.temporal.taskQueue, id, input)).result().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof WorkflowFailedError, `migration ${id} should fail, got ${String(err)}`);
  assert.ok(err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure, String(err.cause));
  return { at: err.cause.activityType, failure: err.cause.cause };
}

async function nothingWritten(id: string, ns: string) {
  const namespaces = await stack.target.get<{ items: unknown[] }>('/api/v1/namespaces', { query: { labelSelector: `${MIGRATION_ID_LABEL}=${id}` } });
  assert.equal(namespaces.items.length, 0, `migration ${id} wrote to the target`);
  await assert.rejects(stack.target.get(`/api/v1/namespaces/${ns}`), /HTTP 404/);
}

before(async () => {
  stack = await startStackWorker(run);
  await seedApp(stack.source, app);
  await seedApp(stack.source, unselected);
});

after(async () => {
  await stack?.stop();
  await deleteNamespaces(kubeconfigFrom(env.SOURCE_KUBECONFIG!), [app, unselected]);
  await deleteNamespaces(kubeconfigFrom(env.TARGET_KUBECONFIG!), [`${run}-ok`, `${run}-broken`, `${run}-excluded`, unselected]);
});

describe('route checks', { concurrency: true }, () => {
  it('takes an HTTPRoute that the migration brings into the target as a valid route, and moves its weights', async () => {
    const into = `${run}-ok`;
    const result = await (await startMigration(stack.client, stack.config.temporal.taskQueue, `${run}-ok`, request(into, 'web'))).result();
    assert.equal(result.status, 'Completed');
    const router = new GatewayApiRouter(stack.target, { namespace: into, httpRoute: 'web', sourceBackend: { name: 'web-source' }, targetBackend: { name: 'web' } });
    assert.equal(await router.getWeight(), 100);
  });

  it('refuses, before any write, an HTTPRoute that comes with the migration but cannot route', async () => {
    const { at, failure } = await refusal(`${run}-broken`, request(`${run}-broken`, 'broken'));
    assert.equal(at, 'preflightRestore');
    assert.equal(failure.type, 'RouterMisconfigured');
    assert.match(failure.message, new RegExp(`^route "edge": the copy in backup "${run}-broken" cannot route: HTTPRoute ${run}-broken/broken has no rule with both backendRefs web-source \\(source\\) and web \\(target\\).*nothing was written`));
    await nothingWritten(`${run}-broken`, `${run}-broken`);
  });

  it('refuses, before any write, an HTTPRoute in a selected namespace that the selection leaves out', async () => {
    const { at, failure } = await refusal(`${run}-excluded`, request(`${run}-excluded`, 'web', { resources: { include: ['*'], exclude: ['httproutes.gateway.networking.k8s.io'] } }));
    assert.equal(at, 'preflightRestore');
    assert.match(failure.message, new RegExp(`^route "edge": HTTPRoute ${run}-excluded/web does not exist in cluster "target", and backup "${run}-excluded" does not hold it`));
    await nothingWritten(`${run}-excluded`, `${run}-excluded`);
  });

  it('refuses at connectivity an HTTPRoute that neither exists in the target nor comes with the migration, naming why', async () => {
    // The source has it, but in a namespace the migration does not select.
    const input = request(unselected, 'web', { namespaces: { include: [app] } });
    const { at, failure } = await refusal(`${run}-other`, input);
    assert.equal(at, 'checkConnectivity');
    assert.equal(failure.type, 'RouterMisconfigured');
    assert.match(failure.message, new RegExp(`^route "edge": HTTPRoute ${unselected}/web does not exist in cluster "target", and the migration does not bring it: its source namespace "${unselected}" is not selected`));
    await assert.rejects(stack.target.get(`/api/v1/namespaces/${unselected}`), /HTTP 404/);
  });
});
