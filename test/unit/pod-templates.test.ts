// The pod a workload's controller would create, for the admission preflight's dry run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstPodWave, makesPods, podFor } from '../../src/domain/pod-templates.js';

describe('pod templates', () => {
  it('builds a Deployment\'s pod from its template, with a generated name in its namespace', () => {
    const pod = podFor({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { own: 'x' }, annotations: { 'deployment.kubernetes.io/revision': '3' } },
      spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'i' }] } } },
    });
    assert.deepEqual(pod, { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'i' }] } });
  });

  it('mounts a StatefulSet\'s claim templates as the claims of its first pod, and reads a CronJob\'s job template', () => {
    const sts = podFor({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'shop' },
      spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }], template: { spec: { containers: [{ name: 'db', image: 'i', volumeMounts: [{ name: 'data', mountPath: '/d' }] }] } } },
    }) as { spec: { volumes: unknown[] } };
    assert.deepEqual(sts.spec.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }]);
    const cron = podFor({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'n' }, spec: { jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [] } } } } } });
    assert.equal((cron as { spec: { restartPolicy: string } }).spec.restartPolicy, 'Never');
  });

  it('knows only the built-in pod makers, and finds the first wave that holds one', () => {
    assert.equal(makesPods({ apiVersion: 'example.com/v1', kind: 'Deployment' }), false);
    assert.equal(podFor({ apiVersion: 'v1', kind: 'ConfigMap' }), undefined);
    assert.equal(firstPodWave([{ kinds: ['Namespace'] }, { kinds: ['ConfigMap', 'ResourceQuota'] }, { kinds: ['Deployment'] }]), 2);
    assert.equal(firstPodWave([{ kinds: ['Namespace'] }]), -1);
  });
});
