// The benchmark's own logic (bench/): the object mix it moves and what it reads from a history. The
// benchmark itself runs apart from the tests (npm run bench); nothing here measures a speed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activityRuns, activitySpanMs, stepApplyDelays } from '../../bench/history.js';
import { inNamespace, namespaceCount, workloadMix } from '../../bench/mix.js';

const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const summary = (s: string) => ({ summary: { metadata: {}, data: Buffer.from(JSON.stringify(s)) } });

describe('benchmark mix', () => {
  it('is the stated mix, spread over namespaces, with every Service selecting a Deployment of its namespace', () => {
    const mix = workloadMix(1000, 'b');
    assert.deepEqual(mix.counts, { ConfigMap: 350, Secret: 250, Service: 150, Deployment: 100, Widget: 150 });
    assert.equal(mix.namespaces.length, namespaceCount(1000));
    assert.equal(new Set(mix.objects.map((o) => `${o.kind}/${o.namespace}/${o.name}`)).size, 1000);
    for (const ns of mix.namespaces) assert.ok(mix.objects.filter((o) => o.namespace === ns).length >= 200);
    const deployments = new Set(mix.objects.filter((o) => o.kind === 'Deployment').map((o) => `${o.namespace}/${o.name}`));
    for (const svc of mix.objects.filter((o) => o.kind === 'Service')) {
      const selects = (svc.body.spec as { selector?: { app?: string } }).selector?.app;
      assert.ok(selects && deployments.has(`${svc.namespace}/${selects}`), `${svc.name} selects nothing in ${svc.namespace}`);
    }
    assert.deepEqual(workloadMix(1000, 'b'), mix);
  });

  it('moves an object to another namespace, collection path included', () => {
    const o = workloadMix(20, 'b').objects.find((x) => x.kind === 'Deployment')!;
    const moved = inNamespace(o, 'elsewhere');
    assert.equal(moved.collection, `/apis/apps/v1/namespaces/elsewhere/deployments`);
    assert.equal((moved.body.metadata as { namespace: string }).namespace, 'elsewhere');
    assert.equal((o.body.metadata as { namespace: string }).namespace, o.namespace);
  });
});

type History = Parameters<typeof activitySpanMs>[0];

describe('benchmark history reading', () => {
  // Plain numbers where the SDK's decoded history has Longs: the reader converts both.
  const history = {
    events: [
      { eventId: 1, eventTime: ts(1_000), workflowExecutionStartedEventAttributes: {} },
      { eventId: 2, eventTime: ts(2_000), activityTaskScheduledEventAttributes: { activityType: { name: 'restoreWave' } } },
      { eventId: 3, eventTime: ts(5_500), activityTaskCompletedEventAttributes: { scheduledEventId: 2 } },
      { eventId: 4, eventTime: ts(6_000), activityTaskScheduledEventAttributes: { activityType: { name: 'restoreWave' } } },
      { eventId: 5, eventTime: ts(9_000), activityTaskCompletedEventAttributes: { scheduledEventId: 4 } },
      { eventId: 6, eventTime: ts(10_000), timerStartedEventAttributes: { timerId: '1' }, userMetadata: summary('weight 25% -> 50% in 2s') },
      { eventId: 7, eventTime: ts(12_000), timerFiredEventAttributes: { timerId: '1' } },
      // A paused wait: two timers with one summary; the step follows the second.
      { eventId: 8, eventTime: ts(13_000), timerStartedEventAttributes: { timerId: '2' }, userMetadata: summary('weight 50% -> 100% in 2s') },
      { eventId: 9, eventTime: ts(14_000), timerFiredEventAttributes: { timerId: '2' } },
      { eventId: 10, eventTime: ts(20_000), timerStartedEventAttributes: { timerId: '3' }, userMetadata: summary('weight 50% -> 100% in 2s') },
      { eventId: 11, eventTime: ts(21_000), timerFiredEventAttributes: { timerId: '3' } },
    ],
  } as unknown as History;

  it('spans activities from the first scheduling to the last completion', () => {
    assert.equal(activitySpanMs(history, ['restoreWave']), 7_000);
    assert.equal(activitySpanMs(history, ['backupResources']), undefined);
    assert.deepEqual(activityRuns(history, ['restoreWave']).map((r) => r.seconds), [3.5, 3]);
  });

  it('times each step from its timer firing to the first sample showing the new weight', () => {
    const samples: [number, number][] = [[0, 0], [12_150, 50], [21_080, 100]];
    assert.deepEqual(stepApplyDelays(history, samples), [150, 80]);
    // A weight never seen is no delay at all, not a made-up one.
    assert.deepEqual(stepApplyDelays(history, [[0, 0], [12_150, 50]]), [150]);
  });
});
