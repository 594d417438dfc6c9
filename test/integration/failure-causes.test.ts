// A failure says why, on the real stack: a target namespace whose ResourceQuota refuses the pods fails
// the migration before its workload wave with the quota's message naming each workload (the admission
// preflight's dry run); with admission: warn it goes on and the readiness timeout names the quota as the
// cause; a workload whose pods cannot be scheduled names the scheduler's reason; a plan reports the
// quota's refusal for a namespace that already exists in the target.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import type { KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { startMigration } from '../../src/client.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import { failureOf as failureOfRun, kubeconfigFrom, stackEnv, startStackWorker, type StackWorker } from '../support/stack.js';

const run = `fc-${randomBytes(3).toString('hex')}`;
const quotaNs = `${run}-q`;
const warnNs = `${run}-w`;
const pinnedNs = `${run}-u`;
const storage = { bucket: 'kubeferry', prefix: `test/${run}` };

let stack: StackWorker;

const deployment = (name: string, podSpec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: {
    replicas: 1, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], ...podSpec } },
  },
});

async function seed(rest: KubeRest, ns: string, objects: { path: string; body: object }[]) {
  await rest.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  for (const o of objects) await rest.request('POST', `${o.path.replace('{ns}', ns)}`, { body: o.body });
}

const request = (ns: string, extra: Partial<MigrationRequestInput> = {}): MigrationRequestInput => ({
  source: { cluster: 'source' }, target: { cluster: 'target' }, storage,
  namespaces: { include: [ns] }, readiness: { pollInterval: '1s', timeout: '20s' }, ...extra,
});

/** The migration's own failure: its type and message (the activity's or the workflow's). */
async function failureOf(id: string, input: MigrationRequestInput): Promise<ApplicationFailure> {
  return failureOfRun((await startMigration(stack.client, stack.config.temporal.taskQueue, id, input)).result());
}

const targetDeployments = async (ns: string) =>
  (await stack.target.get<{ items: { metadata: { name: string; labels?: Record<string, string> } }[] }>(`/apis/apps/v1/namespaces/${ns}/deployments`)).items;

before(async () => {
  stack = await startStackWorker(run);
  const deployments = '/apis/apps/v1/namespaces/{ns}/deployments';
  for (const ns of [quotaNs, warnNs]) {
    await seed(stack.source, ns, [{ path: deployments, body: deployment('api') }, { path: deployments, body: deployment('worker') }]);
    // The target already has the namespace, with a quota that demands cpu requests the pods do not make.
    await seed(stack.target, ns, [{
      path: '/api/v1/namespaces/{ns}/resourcequotas',
      body: { metadata: { name: 'compute' }, spec: { hard: { 'requests.cpu': '4', 'limits.cpu': '8' } } },
    }]);
  }
  // No node of either cluster has this label: the pods stay Pending, Unschedulable.
  await seed(stack.source, pinnedNs, [{ path: deployments, body: deployment('pinned', { nodeSelector: { 'kubeferry.test/no-such-node': 'true' } }) }]);
});

after(async () => {
  await stack?.stop();
  const env = stackEnv();
  for (const file of [env.SOURCE_KUBECONFIG!, env.TARGET_KUBECONFIG!]) await deleteNamespaces(kubeconfigFrom(file), [quotaNs, warnNs, pinnedNs]);
});

describe('a failure says why', { concurrency: true }, () => {
  it('refuses a migration whose pods the target quota would not admit, before its workload wave, naming each workload and the quota', async () => {
    const failure = await failureOf(`${run}-enforce`, request(quotaNs));
    assert.equal(failure.type, 'AdmissionRefused');
    assert.match(failure.message, new RegExp(`Deployment ${quotaNs}/api: .*failed quota: compute: must specify .*requests\\.cpu`));
    assert.match(failure.message, new RegExp(`Deployment ${quotaNs}/worker: .*failed quota: compute`));
    assert.match(failure.message, new RegExp(`kubeferry cleanup ${run}-enforce`));
    // Refused before any workload was written.
    assert.deepEqual((await targetDeployments(quotaNs)).map((d) => d.metadata.name), []);
  });

  it('with admission: warn goes on, and its readiness timeout names the quota as the cause of each workload', async () => {
    const failure = await failureOf(`${run}-warn`, request(warnNs, { admission: 'warn' }));
    assert.equal(failure.type, 'ReadinessTimeout');
    assert.match(failure.message, new RegExp(`${warnNs}/api: pods cannot be created \\(ReplicaSet ${warnNs}/api-[a-z0-9]+: FailedCreate\\): .*failed quota: compute`));
    assert.match(failure.message, new RegExp(`${warnNs}/worker: pods cannot be created .*failed quota: compute`));
    const created = await targetDeployments(warnNs);
    assert.deepEqual(created.map((d) => d.metadata.name).sort(), ['api', 'worker']);
    assert.ok(created.every((d) => d.metadata.labels?.[MIGRATION_ID_LABEL] === `${run}-warn`));
  });

  it('names the scheduler\'s reason for a workload whose pods cannot be scheduled', async () => {
    const failure = await failureOf(`${run}-pinned`, request(pinnedNs));
    assert.equal(failure.type, 'ReadinessTimeout');
    assert.match(failure.message, new RegExp(`${pinnedNs}/pinned: pod pinned-[a-z0-9]+-[a-z0-9]+ cannot be scheduled \\(Unschedulable\\): 0/\\d+ nodes are available: .*node affinity/selector`));
  });

  it('reports in a plan that the target would refuse the pods of an existing namespace, with the quota\'s message', async () => {
    const handle = await startMigration(stack.client, stack.config.temporal.taskQueue, `${run}-plan`, request(quotaNs, { task: 'plan' }));
    const { plan } = await handle.result();
    assert.ok(plan?.admission, 'the plan has an admission report');
    assert.equal(plan.admission.checked, 2);
    assert.equal(plan.admission.refused, 2);
    assert.deepEqual(plan.admission.namespacesChecked, [quotaNs]);
    assert.deepEqual(plan.admission.refusals.map((r) => r.workload), [`Deployment ${quotaNs}/api`, `Deployment ${quotaNs}/worker`]);
    assert.ok(plan.admission.refusals.every((r) => /failed quota: compute/.test(r.message)));
  });
});
