import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restoreSelectionProblem, type RequestSelection } from '../../src/domain/restore-selection.js';

const backup = { backupId: 'nightly', namespaces: ['billing', 'shop'], filters: { resources: { include: ['*'], exclude: ['events'] } } };
const request = (extra: Partial<RequestSelection> = {}): RequestSelection => ({
  namespaces: { include: ['*'], exclude: [] }, resources: { include: ['*'], exclude: [] }, ...extra,
});

describe('a restore selects all of its backup or is refused', () => {
  it('takes a request that selects every namespace of the backup, with the default or the backup\'s own resources', () => {
    assert.equal(restoreSelectionProblem(request(), backup), undefined);
    assert.equal(restoreSelectionProblem(request({ namespaces: { include: ['shop', 'billing'], exclude: [] } }), backup), undefined);
    assert.equal(restoreSelectionProblem(request({ resources: { include: ['*'], exclude: ['events'] } }), backup), undefined);
  });
  it('refuses a subset of the namespaces, naming what it leaves out and what the backup holds', () => {
    assert.match(restoreSelectionProblem(request({ namespaces: { include: ['shop'], exclude: [] } }), backup)!,
      /^a restore restores all of backup "nightly", and this request selects less: namespaces \["shop"\] leave out billing of the backup's billing, shop\. Select all of it \(namespaces\.include \["billing","shop"\]/);
    assert.match(restoreSelectionProblem(request({ namespaces: { include: ['*'], exclude: ['bill*'] } }), backup)!, /minus \["bill\*"\] leave out billing/);
  });
  it('refuses other resource types and a label selector of its own', () => {
    assert.match(restoreSelectionProblem(request({ resources: { include: ['configmaps'], exclude: [] } }), backup)!, /resources .*"configmaps".* differ from the backup's/);
    assert.match(restoreSelectionProblem(request({ labelSelector: 'app=web' }), backup)!, /labelSelector "app=web" differs from the backup's \(none\)/);
    assert.equal(restoreSelectionProblem(request({ labelSelector: 'app=web' }), { ...backup, filters: { ...backup.filters, labelSelector: 'app=web' } }), undefined);
  });
  it('counts a system namespace of the backup as left out unless the request allows system namespaces', () => {
    const withSystem = { ...backup, namespaces: ['kube-system', 'shop'] };
    assert.match(restoreSelectionProblem(request(), withSystem)!, /leave out kube-system/);
    assert.equal(restoreSelectionProblem(request({ allowSystemNamespaces: true }), withSystem), undefined);
  });
});
