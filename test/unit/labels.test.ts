import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as labels from '../../src/objects/labels.js';

describe('kubeferry\'s labels and annotations', () => {
  it('are valid Kubernetes keys under the kubeferry.io prefix, each distinct', () => {
    const keys = Object.values(labels);
    assert.ok(keys.length >= 3);
    assert.equal(new Set(keys).size, keys.length);
    for (const key of keys) {
      const [prefix, name] = key.split('/');
      assert.equal(prefix, 'kubeferry.io', key);
      // Kubernetes: the name part is at most 63 characters, alphanumeric at both ends, [-_.] inside.
      assert.match(name!, /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/, key);
    }
  });
});
