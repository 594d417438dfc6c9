import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';
import { kindRank } from '../../src/domain/ordering.js';
import { grayscaleRatio, readyPercent } from '../../src/domain/progress.js';
import { allowedWeight, serverWeights } from '../../src/domain/weights.js';

describe('durations', () => {
  it('parses what people write', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration(2), 2000);
    assert.equal(parseDuration('1.5m'), 90_000);
  });
  it('refuses what is not a duration', () => {
    for (const bad of ['', 'soon', '5 m', 's', '-5s', '5x', '5m!', null, {}]) assert.equal(parseDuration(bad), undefined, String(bad));
  });
  it('formats for operators', () => {
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(0), '0ms');
  });
});

describe('built-in kind order', () => {
  it('puts namespaces first, identities before config, workloads before Services, routes last', () => {
    const order = ['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'HTTPRoute'];
    const ranks = order.map(kindRank);
    assert.deepEqual([...ranks].sort((a, b) => a - b), ranks);
    assert.equal(new Set(ranks).size, ranks.length);
  });
  it('ranks unknown kinds between workloads and routes', () => {
    assert.ok(kindRank('Widget') > kindRank('Deployment') && kindRank('Widget') < kindRank('HTTPRoute'));
    // Kinds served by a CRD are keyed with their group; Gateway API routes still go with the routes.
    assert.equal(kindRank('HTTPRoute.gateway.networking.k8s.io'), kindRank('HTTPRoute'));
    assert.ok(kindRank('GRPCRoute.gateway.networking.k8s.io') > kindRank('PodDisruptionBudget'));
  });
});

describe('grayscale ratio', () => {
  it('is ready over total', () => {
    assert.equal(grayscaleRatio({ ready: 1, total: 4 }), 0.25);
    assert.equal(grayscaleRatio({ ready: 0, total: 0 }), 1);
    assert.equal(readyPercent({ ready: 2, total: 3 }), 66);
    assert.equal(readyPercent({ ready: 3, total: 3 }), 100);
  });
});

describe('allowed weight', () => {
  it('follows the planned step when everything is ready', () => {
    assert.equal(allowedWeight(25, { ready: 4, total: 4 }, { ready: 1, total: 1 }), 25);
  });
  it('is capped by the grayscale ratio', () => {
    assert.equal(allowedWeight(100, { ready: 1, total: 2 }, { ready: 1, total: 1 }), 50);
  });
  it('is zero for a route with no ready workload', () => {
    assert.equal(allowedWeight(50, { ready: 3, total: 4 }, { ready: 0, total: 1 }), 0);
  });
  it('splits HAProxy server weights', () => {
    assert.deepEqual(serverWeights(25), { source: 75, target: 25 });
    assert.deepEqual(serverWeights(140), { source: 0, target: 100 });
  });
});
