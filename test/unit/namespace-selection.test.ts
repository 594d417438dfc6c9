import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatch, mappingCollisions, selectNamespaces, SYSTEM_NAMESPACES } from '../../src/domain/namespace-selection.js';

describe('namespace patterns', () => {
  it('match "*" as any run of characters, anywhere', () => {
    assert.equal(globMatch('shop', 'shop'), true);
    assert.equal(globMatch('shop', 'shop-2'), false);
    assert.equal(globMatch('shop-*', 'shop-2'), true);
    assert.equal(globMatch('*-prod', 'billing-prod'), true);
    assert.equal(globMatch('a*b*c', 'axxbyyc'), true);
    assert.equal(globMatch('a*b*c', 'axxbyy'), false);
    assert.equal(globMatch('*', ''), true);
    assert.equal(globMatch('**', 'x'), true);
    assert.equal(globMatch('', 'x'), false);
  });

  it('take steps in proportion to pattern × name, however many stars (a RegExp of .* took 15 s here)', () => {
    // Counted, not timed: the worst case of the greedy matcher is one pass over the name per star position.
    let steps = 0;
    const counting = new Proxy(new String('a'.repeat(62)), { get: (t, k) => { if (typeof k === 'string' && /^\d+$/.test(k)) steps++; return Reflect.get(t, k); } });
    assert.equal(globMatch('*'.repeat(30) + '0', counting as unknown as string), false);
    assert.ok(steps > 0 && steps < 31 * 63 * 2, `${steps} character reads`);
  });
});

describe('selected namespaces', () => {
  const existing = ['billing', 'kube-node-lease', 'kube-public', 'kube-system', 'kubeferry-system', 'shop', 'shop-2'];

  it('are those included and not excluded, sorted', () => {
    assert.deepEqual(selectNamespaces({ namespaces: { include: ['shop*', 'billing'], exclude: ['shop-2'] } }, existing), ['billing', 'shop']);
  });

  it('never include the cluster\'s system namespaces unless the request allows them', () => {
    assert.deepEqual(selectNamespaces({ namespaces: { include: ['*'], exclude: [] } }, existing), ['billing', 'shop', 'shop-2']);
    assert.deepEqual(selectNamespaces({ namespaces: { include: ['kube-*'], exclude: [] } }, existing), []);
    assert.deepEqual(selectNamespaces({ namespaces: { include: ['*'], exclude: [] }, allowSystemNamespaces: true }, existing), existing);
    assert.deepEqual([...SYSTEM_NAMESPACES].sort(), ['kube-node-lease', 'kube-public', 'kube-system', 'kubeferry-system']);
  });
});

describe('a namespace mapping over the selected namespaces', () => {
  it('is one-to-one, or each namespace two sources would land in is named', () => {
    assert.deepEqual(mappingCollisions({ shop: 'shop-v2' }, ['shop', 'billing']), []);
    assert.deepEqual(mappingCollisions({ shop: 'billing' }, ['shop', 'billing']), ['"shop" and "billing" would both land in "billing"']);
    // Swapping two namespaces is one-to-one.
    assert.deepEqual(mappingCollisions({ a: 'b', b: 'a' }, ['a', 'b']), []);
  });
});
