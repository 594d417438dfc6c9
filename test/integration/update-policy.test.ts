// existingObjects "update" on the real stack: it never fights a HorizontalPodAutoscaler over spec.replicas,
// and cleaning the migration up puts back what it overwrote.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { cleanupMigration, startMigration } from '../../src/client.js';
import type { MigrationRequestInput } from '../../src/domain/request.js';
import { startStackWorker, type StackWorker } from '../support/stack.js';

const run = `up-${randomBytes(3).toString('hex')}`;
const ns = `${run}-app`;
let stack: StackWorker;
const deployment = (replicas: number, image: string) => ({
  metadata: { name: 'web' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } } },
});
type Deployment = { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };

describe('existingObjects "update" on the local stack', () => {
  before(async () => {
    stack = await startStackWorker(run);
    await stack.source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    await stack.source.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment(2, 'registry.example/web:2') });
    // The target already runs the app, scaled by an autoscaler to 5.
    await stack.target.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    await stack.target.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment(5, 'registry.example/web:1') });
    await stack.target.request('POST', `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, { body: {
      metadata: { name: 'web' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 10,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
    } });
  });
  after(async () => {
    for (const rest of [stack?.source, stack?.target]) await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    await stack?.stop();
  });

  it('applies the backup over a workload an autoscaler scales, leaving its replica count to the autoscaler, and a cleanup puts the workload back as it was', async () => {
    const request: MigrationRequestInput = {
      source: { cluster: 'source' }, target: { cluster: 'target' }, storage: { bucket: 'kubeferry', prefix: `test/${run}` },
      namespaces: { include: [ns] }, existingObjects: 'update', forceConflicts: true, resources: { include: ['deployments.apps'], exclude: [] },
      readiness: { pollInterval: '1s', timeout: '2m' },
    };
    const result = await (await startMigration(stack.client, stack.config.temporal.taskQueue, `${run}-m`, request)).result();
    assert.equal(result.status, 'Completed');
    assert.equal(result.progress.objects.updated, 2, 'the Namespace and the Deployment');
    const web = await stack.target.get<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    assert.equal(web.spec.template.spec.containers[0]!.image, 'registry.example/web:2');
    assert.equal(web.spec.replicas, 5);

    // Cleaning the migration up puts what it overwrote back as it was: the image, and none of its labels.
    const report = await cleanupMigration(stack.client, stack.config.temporal.taskQueue, `${run}-m`, { force: true });
    assert.equal(report.failed, 0, report.errors.join('; '));
    assert.match(report.keptExamples?.join('; ') ?? '', /Deployment .*\/web \(it existed before the migration; put back as it was\)/);
    const back = await stack.target.get<Deployment & { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } }>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    assert.equal(back.spec.template.spec.containers[0]!.image, 'registry.example/web:1');
    assert.equal(back.spec.replicas, 5);
    assert.deepEqual(Object.keys({ ...back.metadata.labels, ...back.metadata.annotations }).filter((k) => k.startsWith('kubeferry.io/')), []);
  });
});
