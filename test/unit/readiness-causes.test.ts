// Why a workload is not ready: the signal that explains the most wins, bounded in length.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeCauses, explainNotReady, MAX_CAUSE_LENGTH, type WorkloadSignals } from '../../src/domain/readiness-causes.js';
import { selectorString } from '../../src/objects/selectors.js';

const base = (over: Partial<WorkloadSignals> = {}): WorkloadSignals => ({
  workload: 'Deployment shop/web', found: true, conditions: [], events: [], pods: [], servicesWithoutEndpoints: [], wantedPods: 2, ...over,
});

describe('readiness causes', () => {
  it('names a workload missing from the target', () => {
    assert.match(explainNotReady(base({ found: false }))!, /^not in the target/);
  });

  it('prefers a refusal to create pods (a quota) while pods are missing, over Progressing and Services', () => {
    const cause = explainNotReady(base({
      events: [{ on: 'ReplicaSet shop/web-1', reason: 'FailedCreate', message: 'pods "web-1-x" is forbidden: failed quota: compute: must specify requests.cpu' }],
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      servicesWithoutEndpoints: ['shop/web'],
    }));
    assert.equal(cause, 'pods cannot be created (ReplicaSet shop/web-1: FailedCreate): pods "web-1-x" is forbidden: failed quota: compute: must specify requests.cpu');
  });

  it('ignores an old refusal once the workload has all its pods, and names a crash-looping container with its last exit', () => {
    const cause = explainNotReady(base({
      events: [{ on: 'ReplicaSet shop/web-1', reason: 'FailedCreate', message: 'quota' }],
      pods: [
        { name: 'web-1-a', phase: 'Running', containers: [{ name: 'app', ready: false, waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' }, lastTerminated: { reason: 'Error', exitCode: 2 }, restarts: 4 }] },
        { name: 'web-1-b', containers: [] },
      ],
    }));
    assert.equal(cause, 'container app of pod web-1-a: CrashLoopBackOff: back-off 40s; last exit 2 (Error), 4 restarts');
  });

  it('names the scheduler\'s message for an unschedulable pod, then a failing readiness probe, then Services without endpoints', () => {
    assert.equal(explainNotReady(base({ pods: [{ name: 'p', phase: 'Pending', unscheduled: { reason: 'Unschedulable', message: '0/3 nodes are available' }, containers: [] }] })),
      'pod p cannot be scheduled (Unschedulable): 0/3 nodes are available');
    assert.equal(explainNotReady(base({ pods: [{ name: 'p', phase: 'Running', containers: [{ name: 'app', ready: false }], probeFailure: 'Readiness probe failed: HTTP probe failed with statuscode: 503' }] })),
      'pod p runs but is not ready: Readiness probe failed: HTTP probe failed with statuscode: 503');
    assert.equal(explainNotReady(base({ servicesWithoutEndpoints: ['shop/web'] })), 'Service shop/web selects it but has no ready endpoint');
    assert.equal(explainNotReady(base({ replicas: '0 of 2 replicas available' })), '0 of 2 replicas available');
  });

  it('bounds every cause and the list of causes', () => {
    const cause = explainNotReady(base({ events: [{ on: 'ReplicaSet a/b', reason: 'FailedCreate', message: 'x'.repeat(5000) }] }))!;
    assert.equal(cause.length, MAX_CAUSE_LENGTH);
    const many = Array.from({ length: 8 }, (_, i) => ({ workload: `ns/w${i}`, cause: 'c' }));
    assert.equal(describeCauses(many), 'ns/w0: c; ns/w1: c; ns/w2: c; ns/w3: c; ns/w4: c; and 3 more');
  });

  it('writes label selectors as the API takes them', () => {
    assert.equal(selectorString({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] }), 'app=web,tier in (a,b),!x');
    assert.equal(selectorString(undefined), undefined);
  });
});
