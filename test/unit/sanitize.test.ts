// Each sanitizing rule on its own (and through sanitize(), to check where it sits in the order).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import { RULES, sanitize, type OwnerKey, type SanitizeContext, type SanitizeRule } from '../../src/objects/sanitize/index.js';
import { jobControllerUid } from '../../src/objects/sanitize/job-controller-uid.js';
import { migrationLabel } from '../../src/objects/sanitize/migration-label.js';
import { namespaceMapping } from '../../src/objects/sanitize/namespace-mapping.js';
import { ownerReferences } from '../../src/objects/sanitize/owner-references.js';
import { podNodeName } from '../../src/objects/sanitize/pod-node-name.js';
import { pvcBinding } from '../../src/objects/sanitize/pvc-binding.js';
import { serverSetMetadata } from '../../src/objects/sanitize/server-set-metadata.js';
import { serviceAccountTokenRefs } from '../../src/objects/sanitize/serviceaccount-token-refs.js';
import { serviceAddresses } from '../../src/objects/sanitize/service-addresses.js';

type Obj = Parameters<SanitizeRule>[0];
const ctx: SanitizeContext = { migrationId: 'm-1' };
/** Applies one rule to a copy and returns it, untyped for easy assertions. */
const apply = (rule: SanitizeRule, obj: object, c: SanitizeContext = ctx): Record<string, any> => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const copy = structuredClone(obj) as Obj;
  rule(copy, c);
  return copy;
};

describe('rule order', () => {
  it('filters binding subjects by their source namespace before mapping namespaces, maps namespaces before resolving owners, and labels last', () => {
    const names = RULES.map((r) => r.name);
    assert.deepEqual(names, ['serverSetMetadata', 'dropStatus', 'serviceAddresses', 'deploymentRevision', 'podNodeName',
      'jobControllerUid', 'serviceAccountTokenRefs', 'pvcBinding', 'clusterWideEffects', 'namespaceMapping', 'ownerReferences', 'migrationLabel']);
    assert.ok(names.indexOf(namespaceMapping.name) < names.indexOf(ownerReferences.name));
    assert.equal(names.at(-1), migrationLabel.name);
  });
});

describe('serverSetMetadata', () => {
  const meta = {
    name: 'c', namespace: 'n', uid: 'u', resourceVersion: '9', generation: 2, creationTimestamp: new Date(),
    deletionTimestamp: new Date(), deletionGracePeriodSeconds: 30, managedFields: [{ manager: 'kubectl' }], selfLink: '/x',
    generateName: 'c-', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'p' }],
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
  };

  it('drops what the source server set, keeps owner references and last-applied-configuration', () => {
    const out = apply(serverSetMetadata, { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta });
    assert.deepEqual(out.metadata, {
      name: 'c', namespace: 'n', ownerReferences: meta.ownerReferences,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    });
  });

  it('keeps generateName when the object has no name', () => {
    const out = apply(serverSetMetadata, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'c-', uid: 'u' } });
    assert.deepEqual(out.metadata, { generateName: 'c-' });
  });
});

describe('serviceAddresses', () => {
  const svc = {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 's' },
    spec: { type: 'LoadBalancer', clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'], externalTrafficPolicy: 'Local',
      healthCheckNodePort: 31999, ports: [{ port: 80, nodePort: 30080 }, { port: 443, nodePort: 30443 }] },
  };

  it('drops cluster IPs, node ports and the health-check node port by default', () => {
    assert.deepEqual(apply(serviceAddresses, svc).spec, { type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 80 }, { port: 443 }] });
  });

  it('keeps node ports and the health-check node port with keepNodePorts, still drops cluster IPs', () => {
    assert.deepEqual(apply(serviceAddresses, svc, { ...ctx, keepNodePorts: true }).spec, {
      type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 31999,
      ports: [{ port: 80, nodePort: 30080 }, { port: 443, nodePort: 30443 }],
    });
  });

  it('keeps a headless Service headless', () => {
    const headless = { ...svc, spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }] } };
    assert.deepEqual(apply(serviceAddresses, headless).spec, headless.spec);
  });

  it('ignores other kinds', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, spec: { clusterIP: '1.2.3.4' } };
    assert.deepEqual(apply(serviceAddresses, cm), cm);
  });
});

describe('podNodeName', () => {
  it('drops a Pod\'s node name, keeps nodeSelector and affinity', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
    const out = apply(podNodeName, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
      spec: { nodeName: 'node-1', nodeSelector: { zone: 'a' }, affinity, containers: [] } });
    assert.deepEqual(out.spec, { nodeSelector: { zone: 'a' }, affinity, containers: [] });
  });

  it('leaves other kinds alone, even with a nodeName-like field', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { nodeName: 'x', template: { spec: { nodeName: 'y' } } } };
    assert.deepEqual(apply(podNodeName, d), d);
  });
});

describe('jobControllerUid', () => {
  const uid = '288d8d15-c406-4f31-9316-822abe901471';
  const generated = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'j', 'controller-uid': uid, 'job-name': 'j' };
  const job = (manualSelector?: boolean) => ({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', labels: { ...generated, team: 't' } },
    spec: { manualSelector, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      template: { metadata: { labels: { ...generated, app: 'a' } }, spec: { containers: [] } } },
  });

  it('drops the generated selector and the controller-uid labels, keeps job-name and user labels', () => {
    const out = apply(jobControllerUid, job(false));
    assert.equal(out.spec.selector, undefined);
    assert.deepEqual(out.spec.template.metadata.labels, { 'batch.kubernetes.io/job-name': 'j', 'job-name': 'j', app: 'a' });
    assert.deepEqual(out.metadata.labels, { 'batch.kubernetes.io/job-name': 'j', 'job-name': 'j', team: 't' });
    assert.equal(out.spec.manualSelector, false);
  });

  it('does the same when manualSelector is absent', () => {
    assert.equal(apply(jobControllerUid, job()).spec.selector, undefined);
  });

  it('removes a labels map it emptied', () => {
    const out = apply(jobControllerUid, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', labels: { 'controller-uid': uid } },
      spec: { template: { metadata: { labels: { 'controller-uid': uid } } } } });
    assert.equal(out.metadata.labels, undefined);
    assert.deepEqual(out.spec.template.metadata, {});
  });

  it('leaves a manual selector and its labels as written', () => {
    const j = job(true);
    assert.deepEqual(apply(jobControllerUid, j), j);
  });

  it('ignores other kinds', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'controller-uid': uid } } };
    assert.deepEqual(apply(jobControllerUid, cm), cm);
  });
});

describe('serviceAccountTokenRefs', () => {
  const sa = (secrets?: { name: string }[]) => ({
    apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' }, secrets, imagePullSecrets: [{ name: 'builder-token-abcde' }],
  });

  it('drops references to auto-generated token Secrets, keeps the others and imagePullSecrets', () => {
    const out = apply(serviceAccountTokenRefs, sa([{ name: 'builder-token-abcde' }, { name: 'registry' }, { name: 'builder-token-x1y2z' }]));
    assert.deepEqual(out.secrets, [{ name: 'registry' }]);
    assert.deepEqual(out.imagePullSecrets, [{ name: 'builder-token-abcde' }]);
  });

  it('removes secrets when nothing is left', () => {
    assert.equal('secrets' in apply(serviceAccountTokenRefs, sa([{ name: 'builder-token-abcde' }])), false);
  });

  it('matches only <sa>-token-<5 lowercase alphanumerics>', () => {
    const names = ['builder-token-abcd', 'builder-token-abcdef', 'builder-token-ABCDE', 'other-token-abcde', 'xbuilder-token-abcde', 'builder-token-ab-de'];
    assert.deepEqual(apply(serviceAccountTokenRefs, sa(names.map((name) => ({ name })))).secrets, names.map((name) => ({ name })));
  });

  it('treats regex characters in the account name literally', () => {
    const out = apply(serviceAccountTokenRefs, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a.b' },
      secrets: [{ name: 'a.b-token-abcde' }, { name: 'axb-token-abcde' }] });
    assert.deepEqual(out.secrets, [{ name: 'axb-token-abcde' }]);
  });
});

describe('pvcBinding', () => {
  it('drops the bound volume and the binding annotations, keeps the rest of the claim', () => {
    const out = apply(pvcBinding, {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: 'c', annotations: {
        'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes',
        'volume.beta.kubernetes.io/storage-provisioner': 'p', 'volume.kubernetes.io/storage-provisioner': 'p',
        'volume.kubernetes.io/selected-node': 'node-1', note: 'kept',
      } },
      spec: { volumeName: 'pv-1', storageClassName: 'fast', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    assert.deepEqual(out.metadata.annotations, { note: 'kept' });
    assert.deepEqual(out.spec, { storageClassName: 'fast', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
  });

  it('removes annotations it emptied; ignores PersistentVolumes', () => {
    const out = apply(pvcBinding, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } }, spec: {} });
    assert.equal(out.metadata.annotations, undefined);
    const pv = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'v', annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }, spec: { volumeName: 'x' } };
    assert.deepEqual(apply(pvcBinding, pv), pv);
  });
});

describe('ownerReferences', () => {
  const refs = [
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'src-1', controller: true, blockOwnerDeletion: true },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', uid: 'src-2' },
  ];
  const child = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', ownerReferences: refs } };

  it('rewrites the uids of owners found in the target and drops the others', () => {
    const asked: OwnerKey[] = [];
    const ownerUid = (o: OwnerKey) => { asked.push(o); return o.name === 'rs' ? 'tgt-1' : undefined; };
    const out = apply(ownerReferences, child, { ...ctx, ownerUid });
    assert.deepEqual(out.metadata.ownerReferences, [{ ...refs[0], uid: 'tgt-1' }]);
    assert.deepEqual(asked, [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', namespace: 'shop' },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', namespace: 'shop' },
    ]);
  });

  it('removes the list when no owner is found, and when there is no lookup at all', () => {
    assert.equal(apply(ownerReferences, child, { ...ctx, ownerUid: () => undefined }).metadata.ownerReferences, undefined);
    assert.equal('ownerReferences' in apply(ownerReferences, child).metadata, false);
  });

  it('asks with the mapped namespace when run through sanitize()', () => {
    const asked: (string | undefined)[] = [];
    const out = sanitize(child as never, { ...ctx, namespaceMapping: { shop: 'shop-v2' }, ownerUid: (o) => { asked.push(o.namespace); return 'u'; } }) as unknown as Obj;
    assert.deepEqual(asked, ['shop-v2', 'shop-v2']);
    assert.deepEqual(out.metadata?.ownerReferences?.map((r) => r.uid), ['u', 'u']);
  });

  it('asks without a namespace for a cluster-scoped object', () => {
    const asked: OwnerKey[] = [];
    apply(ownerReferences, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', ownerReferences: [refs[1]] } },
      { ...ctx, ownerUid: (o) => { asked.push(o); return undefined; } });
    assert.deepEqual(asked, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gone', namespace: undefined }]);
  });
});

describe('sanitize(), all rules together', () => {
  it('strips server-set metadata and status, keeps what the user wrote, labels with the migration id', () => {
    const out = sanitize({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: {
        name: 'c', namespace: 'n', uid: 'u', resourceVersion: '9', generation: 2, creationTimestamp: new Date(),
        managedFields: [{ manager: 'kubectl' }], selfLink: '/x', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'p' }],
        labels: { app: 'a' }, annotations: { note: 'kept' },
      },
      status: { phase: 'x' },
      data: { k: 'v' },
    } as never, ctx) as unknown as Record<string, unknown>;
    assert.deepEqual(out.metadata, { name: 'c', namespace: 'n', labels: { app: 'a', [MIGRATION_ID_LABEL]: 'm-1' }, annotations: { note: 'kept' } });
    assert.equal(out.status, undefined);
    assert.deepEqual(out.data, { k: 'v' });
  });

  it('lets the target allocate Service cluster IPs and node ports, but keeps headless Services headless', () => {
    const svc = (clusterIP: string) => sanitize({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 's' },
      spec: { clusterIP, clusterIPs: [clusterIP], type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] },
    } as never, ctx) as unknown as { spec: Record<string, unknown> };
    assert.deepEqual(svc('10.0.0.7').spec, { type: 'NodePort', ports: [{ port: 80 }] });
    assert.equal(svc('None').spec.clusterIP, 'None');
  });

  it('drops the Deployment revision annotation', () => {
    const d = sanitize({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', annotations: { 'deployment.kubernetes.io/revision': '7', keep: 'y' } } }, ctx);
    assert.deepEqual(d.metadata?.annotations, { keep: 'y' });
  });

  it('does not change the object it was given', () => {
    const original = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u' } };
    sanitize(original, ctx);
    assert.equal(original.metadata.uid, 'u');
  });
});

describe('clusterWideEffects', () => {
  const ctx = { migrationId: 'm', sourceNamespaces: new Set(['shop']) };
  it('never makes a StorageClass or IngressClass the default, nor a PriorityClass the global default', () => {
    const sc = sanitize({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true', keep: 'me' } }, provisioner: 'x' }, ctx);
    assert.deepEqual(sc.metadata.annotations, { keep: 'me' });
    const ic = sanitize({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } }, ctx);
    assert.equal(ic.metadata.annotations, undefined);
    const pc = sanitize({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000, globalDefault: true }, ctx);
    assert.equal((pc as { globalDefault?: boolean }).globalDefault, undefined);
    assert.equal(pc.value, 1000);
  });
  it('drops the aggregation labels of a ClusterRole, keeping its others', () => {
    const role = sanitize({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'widgets', labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true', 'rbac.authorization.k8s.io/aggregate-to-view': 'true', team: 'shop' } } }, ctx);
    assert.deepEqual(role.metadata.labels, { team: 'shop', 'kubeferry.io/migration-id': 'm' });
  });
  it('keeps only the ServiceAccounts of the migrated namespaces among the subjects of a ClusterRoleBinding', () => {
    const crb = sanitize({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'readers' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [
        { kind: 'ServiceAccount', name: 'web', namespace: 'shop' }, { kind: 'ServiceAccount', name: 'ops', namespace: 'kube-system' },
        { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }, { kind: 'Group', name: 'sre', apiGroup: 'rbac.authorization.k8s.io' },
      ],
    }, { ...ctx, namespaceMapping: { shop: 'shop-dr' } });
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: 'web', namespace: 'shop-dr' }]);
  });
  it('never keeps a Service\'s external IPs', () => {
    const svc = sanitize({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { externalIPs: ['203.0.113.7'], ports: [{ port: 80 }] } }, ctx);
    assert.equal((svc.spec as { externalIPs?: string[] }).externalIPs, undefined);
  });
  it('drops every kubeferry.io label and annotation the source carried, before labelling with this migration', () => {
    const cm = sanitize({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop', labels: { 'kubeferry.io/migration-id': 'older', app: 'web' }, annotations: { 'kubeferry.io/pre-existing': 'true', 'kubeferry.io/anything': 'x', note: 'kept' } } }, { ...ctx, runId: 'r1' });
    assert.deepEqual(cm.metadata.labels, { app: 'web', 'kubeferry.io/migration-id': 'm' });
    assert.deepEqual(cm.metadata.annotations, { note: 'kept', 'kubeferry.io/migration-run': 'r1' });
  });
});
