import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goalReached, HELD_STEP_RISE, type ReadinessCounts, type ReadinessGoal } from '../../src/domain/readiness-goal.js';

const rule = { ratio: 'overall', weightByReplicas: false } as const;
const counts = (ready: number, total: number, web = { ready: 1, total: 1 }): ReadinessCounts => ({ overall: { ready, total }, routes: { web } });

describe('readiness goals', () => {
  it('all: only when every workload is ready', () => {
    const goal: ReadinessGoal = { ...rule, routes: ['web'], weight: 10, until: 'all' };
    assert.equal(goalReached(goal, counts(99, 100)), false);
    assert.equal(goalReached(goal, counts(100, 100)), true);
  });

  it('first-traffic: as soon as some route may carry part of the first step', () => {
    const goal: ReadinessGoal = { ...rule, routes: ['web'], weight: 10, until: 'first-traffic' };
    assert.equal(goalReached(goal, counts(0, 100)), false);
    // 1 % ready overall and the route's own workload ready: it may carry 1 %.
    assert.equal(goalReached(goal, counts(1, 100)), true);
    // The route's own workload not ready: it carries nothing whatever the ratio.
    assert.equal(goalReached(goal, counts(50, 100, { ready: 0, total: 1 })), false);
  });

  it('step: when the ratio allows the whole step, or a rise of at least HELD_STEP_RISE points', () => {
    const goal = (current: number): ReadinessGoal => ({ ...rule, routes: ['web'], weight: 50, until: 'step', current: { web: current } });
    assert.equal(goalReached(goal(20), counts(50, 100)), true);
    assert.equal(goalReached(goal(20), counts(20 + HELD_STEP_RISE - 1, 100)), false);
    assert.equal(goalReached(goal(20), counts(20 + HELD_STEP_RISE, 100)), true);
    // Closer than one rise to the step: only the step itself ends the wait.
    assert.equal(goalReached(goal(48), counts(49, 100)), false);
  });

  it('step: the route ratio caps each route by its own workloads', () => {
    const goal: ReadinessGoal = { ratio: 'route', weightByReplicas: false, routes: ['web'], weight: 100, until: 'step', current: { web: 0 } };
    assert.equal(goalReached(goal, counts(1, 100, { ready: 1, total: 2 })), true); // 0 -> 50 is a rise
    assert.equal(goalReached({ ...goal, current: { web: 50 } }, counts(1, 100, { ready: 1, total: 2 })), false);
  });
});
