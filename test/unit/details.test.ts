import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staticSummary } from '../../src/client.js';
import { renderDetails } from '../../src/workflows/details.js';

describe('Web UI text', () => {
  it('shows phase, objects, waves, readiness, step and each route', () => {
    const text = renderDetails({
      migrationId: 'm', task: 'migrate', phase: 'traffic', paused: true, rollbackRequested: false,
      objects: { backedUp: 12, restored: 11, skipped: 1, updated: 0, differing: 1, failed: 0, total: 12 }, waves: { done: 5, total: 5 },
      readiness: { ready: 1, total: 2, percent: 50 }, routes: [{ name: 'web', weight: 25, ready: 1, total: 1 }],
      step: { index: 2, total: 4, nextAt: '2026-11-27T20:00:00.000Z' }, errors: [], differences: [],
      leftOut: { 'default ServiceAccount (every namespace gets its own)': 2 }, plan: { brokenCycles: 1, outside: 0 },
    });
    assert.match(text, /^\*\*traffic\*\* \(paused\)/);
    assert.match(text, /\| objects \| 11 restored, 0 updated, 1 skipped \(1 differ\), 0 failed of 12 \(backed up 12\) \|/);
    assert.match(text, /\| stage \| progress \|\n\|---\|---\|/);
    assert.match(text, /\| waves \| 5 of 5 done \|/);
    assert.match(text, /\| ready \| 1 of 2 workloads \(50%\) \|/);
    assert.match(text, /\| step \| 2 of 4, next at 2026-11-27T20:00:00.000Z \|/);
    assert.match(text, /\| route web \| 25% to target, 1 of 1 ready \|/);
    assert.match(text, /Left out: 2 default ServiceAccount \(every namespace gets its own\)/);
    assert.match(text, /Reference cycles broken: 1 reference\(s\) dropped/);
  });
  it('summarizes a request in one line, names only', () => {
    assert.equal(
      staticSummary({ source: { cluster: 's' }, target: { cluster: 't' }, storage: { bucket: 'b' }, namespaces: { include: ['shop', 'billing'] },
        routes: [{ name: 'web', router: 'haproxy', backend: 'web', workloads: ['shop/web'] }] }),
      'migrate s -> t: namespaces shop, billing, routes web',
    );
  });
});
