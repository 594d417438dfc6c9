import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectRelisting } from '../../src/activities/collect.js';
import { KubeApiError } from '../../src/kube/errors.js';
import type { TypeEntry, TypeResult } from '../../src/store/backup-format.js';

const gone = () => new KubeApiError(410, JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'The provided continue parameter is too old' }), 'GET', '/api/v1/configmaps');
const entry = (): TypeEntry => ({ name: 'configmaps', group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, kindKey: 'ConfigMap', count: 0 });

describe('a list whose continue token expires', () => {
  it('collects the type again from its first page, counting each object once', async () => {
    const type = entry();
    let lists = 0;
    const result = await collectRelisting(type, async () => {
      lists += 1;
      type.count += 500; // the first page went through before the token expired
      if (lists === 1) throw gone();
      return { type, sink: [], nodes: [], workloads: [], podLabels: [], selectors: [], covered: [], leftOut: [] } as TypeResult<never[]>;
    });
    assert.equal(lists, 2);
    assert.equal(result.type.count, 500);
  });
  it('gives up after a few relists, and never relists for another error', async () => {
    let lists = 0;
    await assert.rejects(collectRelisting(entry(), async () => {
      lists += 1;
      throw gone();
    }), /HTTP 410/);
    assert.equal(lists, 4);
    lists = 0;
    await assert.rejects(collectRelisting(entry(), async () => {
      lists += 1;
      throw new KubeApiError(500, '{}', 'GET', '/api/v1/configmaps');
    }), /HTTP 500/);
    assert.equal(lists, 1);
  });
});
