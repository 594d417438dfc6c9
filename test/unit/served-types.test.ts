import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gvkKey, notServed } from '../../src/objects/served-types.js';

describe('types the target does not serve', () => {
  const served = new Set([gvkKey('', 'v1', 'ConfigMap'), gvkKey('apps', 'v1', 'Deployment'), gvkKey('example.com', 'v2', 'Widget')]);
  const type = (name: string, group: string, version: string, kind: string, crd?: string) => ({ name, group, version, kind, ...(crd ? { crd } : {}) });

  it('are none when the target serves each type at its version', () => {
    assert.deepEqual(notServed([type('configmaps', '', 'v1', 'ConfigMap'), type('deployments.apps', 'apps', 'v1', 'Deployment')], served, []), []);
  });

  it('are named, with the versions the target serves instead', () => {
    assert.deepEqual(notServed([type('widgets.example.com', 'example.com', 'v1', 'Widget'), type('gadgets.example.com', 'example.com', 'v1', 'Gadget')], served, []), [
      'widgets.example.com (example.com/v1 Widget; the target serves it only at v2)',
      'gadgets.example.com (example.com/v1 Gadget)',
    ]);
  });

  it('leave out a custom type whose CRD the backup brings', () => {
    const gadgets = type('gadgets.example.com', 'example.com', 'v1', 'Gadget', 'gadgets.example.com');
    assert.deepEqual(notServed([gadgets], served, ['CustomResourceDefinition//gadgets.example.com']), []);
    assert.equal(notServed([gadgets], served, ['CustomResourceDefinition//other.example.com']).length, 1);
  });
});
