import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localWebUi, TEMPORAL_DEFAULTS, temporalSettings } from '../../src/config/temporal.js';

describe('where Temporal is', () => {
  it('defaults to the local dev server, namespace "default", task queue "kubeferry"', () => {
    assert.deepEqual(temporalSettings({}, {}, {}), { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'kubeferry' });
    assert.deepEqual(temporalSettings({}, {}, {}), TEMPORAL_DEFAULTS);
  });

  it('takes each setting from a flag, else the environment, else the config file', () => {
    const env = { TEMPORAL_ADDRESS: 'env:7233', TEMPORAL_NAMESPACE: 'env-ns', KUBEFERRY_TASK_QUEUE: 'env-q' };
    const file = { address: 'file:7233', namespace: 'file-ns', taskQueue: 'file-q' };
    assert.deepEqual(temporalSettings({ address: 'flag:7233' }, env, file), { address: 'flag:7233', namespace: 'env-ns', taskQueue: 'env-q' });
    assert.deepEqual(temporalSettings({}, {}, file), file);
    // An empty value counts as not given.
    assert.deepEqual(temporalSettings({ address: '' }, { TEMPORAL_ADDRESS: '' }, { address: '' }).address, '127.0.0.1:7233');
  });

  it('finds the Web UI beside a local dev server only', () => {
    assert.equal(localWebUi('127.0.0.1:7233'), 'http://127.0.0.1:8233');
    assert.equal(localWebUi('localhost:7233'), 'http://127.0.0.1:8233');
    assert.equal(localWebUi('temporal.example:7233'), undefined);
  });
});
