import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkSelectors, matchesLabels, podTemplateLabels, selectorOf, selectorString, servicesOfWorkloads, type SelectorFacts } from '../../src/objects/selectors.js';

describe('services of a workload', () => {
  const results: SelectorFacts[] = [{
    nodes: [
      { id: 'Deployment/shop/web', kind: 'Deployment', refs: [] },
      { id: 'PodDisruptionBudget/shop/web', kind: 'PodDisruptionBudget', refs: ['Namespace//shop'] },
    ],
    podLabels: [['Deployment/shop/web', { app: 'web', tier: 'front' }], ['Deployment/shop/api', { app: 'api' }]],
    selectors: [
      { id: 'Service/shop/web', kind: 'Service', namespace: 'shop', selector: { app: 'web' } },
      { id: 'Service/shop/front', kind: 'Service', namespace: 'shop', selector: { tier: 'front' } },
      { id: 'Service/shop/other', kind: 'Service', namespace: 'shop', selector: { app: 'web', tier: 'back' } },
      { id: 'Service/billing/web', kind: 'Service', namespace: 'billing', selector: { app: 'web' } },
      { id: 'PodDisruptionBudget/shop/web', kind: 'PodDisruptionBudget', namespace: 'shop', selector: { app: 'web' } },
    ],
  }];

  it('are the Services of its namespace whose selector matches its pod labels', () => {
    assert.deepEqual(servicesOfWorkloads(results), {
      'Deployment/shop/web': ['Service/shop/web', 'Service/shop/front'],
      'Deployment/shop/api': [],
    });
  });

  it('make a PodDisruptionBudget wait for the workloads it selects', () => {
    const pdb = linkSelectors(results).find((n) => n.id === 'PodDisruptionBudget/shop/web')!;
    assert.deepEqual(pdb.refs, ['Namespace//shop', 'Deployment/shop/web']);
  });
});

describe('label selectors', () => {
  it('match when every pair is among the labels', () => {
    assert.equal(matchesLabels({ app: 'web' }, { app: 'web', tier: 'front' }), true);
    assert.equal(matchesLabels({ app: 'web', tier: 'back' }, { app: 'web', tier: 'front' }), false);
    assert.equal(matchesLabels({ app: 'web' }, undefined), false);
  });

  it('are written as the API takes them, every operator included', () => {
    assert.equal(selectorString({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'zone', operator: 'NotIn', values: ['c'] },
        { key: 'canary', operator: 'Exists' }, { key: 'x', operator: 'DoesNotExist' },
      ],
    }), 'app=web,tier in (a,b),zone notin (c),canary,!x');
    assert.equal(selectorString({}), undefined);
    assert.equal(selectorString(undefined), undefined);
  });

  it('of Services and PodDisruptionBudgets are read; an empty one or another kind has none', () => {
    assert.deepEqual(selectorOf({ kind: 'Service', spec: { selector: { app: 'web' } } }), { app: 'web' });
    assert.equal(selectorOf({ kind: 'Service', spec: { selector: {} } }), undefined);
    assert.deepEqual(selectorOf({ kind: 'PodDisruptionBudget', spec: { selector: { matchLabels: { app: 'db' } } } }), { app: 'db' });
    assert.equal(selectorOf({ kind: 'Deployment', spec: { selector: { matchLabels: { app: 'web' } } } }), undefined);
  });

  it('find pods by the labels of a workload\'s pod template', () => {
    assert.deepEqual(podTemplateLabels({ kind: 'Deployment', spec: { template: { metadata: { labels: { app: 'web' } } } } }), { app: 'web' });
    assert.deepEqual(podTemplateLabels({ kind: 'Deployment', spec: {} }), {});
  });
});
