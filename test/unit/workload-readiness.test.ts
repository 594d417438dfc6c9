import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replicaCounts, workloadReady } from '../../src/objects/workload-readiness.js';

const meta = { name: 'w', namespace: 'n', generation: 2 };

describe('workload readiness, by kind', () => {
  it('Deployment: the latest spec observed, every replica updated and available', () => {
    const d = (status: Record<string, unknown>) => ({ kind: 'Deployment', metadata: meta, spec: { replicas: 2 }, status });
    assert.equal(workloadReady(d({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2 })), true);
    assert.equal(workloadReady(d({ observedGeneration: 1, updatedReplicas: 2, availableReplicas: 2 })), false);
    assert.equal(workloadReady(d({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1 })), false);
  });

  it('StatefulSet: ready, updated and available replicas', () => {
    const s = (status: Record<string, unknown>) => ({ kind: 'StatefulSet', metadata: meta, spec: { replicas: 3 }, status: { observedGeneration: 2, ...status } });
    assert.equal(workloadReady(s({ readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 })), true);
    assert.equal(workloadReady(s({ readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 })), false);
  });

  it('DaemonSet: every scheduled pod ready, and at least one scheduled', () => {
    const d = (status: Record<string, unknown>) => ({ kind: 'DaemonSet', metadata: meta, status: { observedGeneration: 2, ...status } });
    assert.equal(workloadReady(d({ desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2 })), true);
    assert.equal(workloadReady(d({ desiredNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 })), false);
    assert.equal(workloadReady(d({ desiredNumberScheduled: 0 })), false);
  });

  it('Job: complete, or running with a ready pod; never when failed', () => {
    const j = (status: Record<string, unknown>) => ({ kind: 'Job', metadata: meta, status });
    assert.equal(workloadReady(j({ conditions: [{ type: 'Complete', status: 'True' }] })), true);
    assert.equal(workloadReady(j({ ready: 1, active: 1 })), true);
    assert.equal(workloadReady(j({ active: 1, ready: 0 })), false);
    assert.equal(workloadReady(j({ ready: 1, conditions: [{ type: 'Failed', status: 'True' }] })), false);
  });

  it('custom resources: a Ready condition that is True and about the latest generation', () => {
    const c = (condition: object) => ({ kind: 'Widget', metadata: meta, status: { conditions: [condition] } });
    assert.equal(workloadReady(c({ type: 'Ready', status: 'True' })), true);
    assert.equal(workloadReady(c({ type: 'Ready', status: 'True', observedGeneration: 1 })), false);
    assert.equal(workloadReady(c({ type: 'Ready', status: 'False' })), false);
    assert.equal(workloadReady({ kind: 'Widget', metadata: meta }), false);
  });
});

describe('replica counts, by kind', () => {
  it('count available Deployment replicas, ready StatefulSet replicas and ready DaemonSet pods', () => {
    assert.deepEqual(replicaCounts({ kind: 'Deployment', spec: { replicas: 3 }, status: { availableReplicas: 2, readyReplicas: 3 } }), { ready: 2, total: 3 });
    assert.deepEqual(replicaCounts({ kind: 'StatefulSet', spec: { replicas: 2 }, status: { readyReplicas: 1 } }), { ready: 1, total: 2 });
    assert.deepEqual(replicaCounts({ kind: 'DaemonSet', status: { desiredNumberScheduled: 4, numberReady: 4 } }), { ready: 4, total: 4 });
  });

  it('count a Deployment without replicas as one, and other kinds as one replica, ready or not', () => {
    assert.deepEqual(replicaCounts({ kind: 'Deployment', status: { availableReplicas: 1 } }), { ready: 1, total: 1 });
    assert.deepEqual(replicaCounts({ kind: 'Job', status: { ready: 1 } }), { ready: 1, total: 1 });
    assert.deepEqual(replicaCounts({ kind: 'Widget', status: { conditions: [{ type: 'Ready', status: 'False' }] } }), { ready: 0, total: 1 });
  });

  it('count a workload not restored yet as one replica, not ready', () => {
    assert.deepEqual(replicaCounts(undefined), { ready: 0, total: 1 });
  });
});
