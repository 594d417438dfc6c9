// Each sanitizing rule against the real API servers of the local stack: an object is created in the
// source the way a user would, read back (so the server-set fields are real), sanitized, created in the
// target; the target must accept it and end up with what the rule promises. Where it shows why a rule
// exists, the same object sanitized without that rule is created too, and the target's reaction checked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';
import type { RawObject } from '../../src/objects/raw-object.js';
import { RULES, sanitize, type OwnerKey, type SanitizeContext, type SanitizeRule } from '../../src/objects/sanitize/index.js';
import { CONTROLLER_UID_LABELS, jobControllerUid } from '../../src/objects/sanitize/job-controller-uid.js';
import { ownerReferences } from '../../src/objects/sanitize/owner-references.js';
import { pvcBinding } from '../../src/objects/sanitize/pvc-binding.js';
import { serverSetMetadata } from '../../src/objects/sanitize/server-set-metadata.js';
import { stackEnv } from '../support/stack.js';

const env = stackEnv();
const run = randomBytes(3).toString('hex');
const srcNs = `san-${run}`;
const tgtNs = `san-${run}-t`; // mapped, so every test also checks namespace mapping
const pvName = `san-${run}-pv`; // cluster-scoped, in the source only
const ctx: SanitizeContext = { migrationId: 'san-test', namespaceMapping: { [srcNs]: tgtNs } };

interface Cluster { kc: k8s.KubeConfig; objects: k8s.KubernetesObjectApi; core: k8s.CoreV1Api }
let source: Cluster;
let target: Cluster;

function cluster(file: string): Cluster {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return { kc, objects: k8s.KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(k8s.CoreV1Api) };
}

/** Polls `check` until it returns a value (not undefined); fails naming `what` after the timeout. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

type Header<T extends k8s.KubernetesObject> = Parameters<typeof k8s.KubernetesObjectApi.prototype.read<T>>[0];
const header = <T extends k8s.KubernetesObject>(o: T): Header<T> =>
  ({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata!.namespace! } }) as Header<T>;

/** Reads the object again, or undefined when it is gone. */
async function readOrGone<T extends k8s.KubernetesObject>(c: Cluster, o: T): Promise<T | undefined> {
  try {
    return await c.objects.read<T>(header(o));
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

/** Creates in the source as a user would, and reads it back (server-set fields and all). */
async function inSource<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
  const created = await source.objects.create(obj);
  return source.objects.read<T>(header(created));
}

/** Sanitizes like sanitize() but leaving one rule out, to show what the target does without it. */
function sanitizeWithout<T extends k8s.KubernetesObject>(left: SanitizeRule, obj: T, c: SanitizeContext, name: string): T {
  const copy = structuredClone(obj) as T & Record<string, unknown>;
  for (const rule of RULES) if (rule !== left) rule(copy as unknown as RawObject, c);
  copy.metadata!.name = name;
  return copy;
}

/** Plain JSON of a client model (its classes are not deep-equal to object literals). */
const plain = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
/** HTTP status of a failed API call. */
const apiStatus = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
};
/** The API server's message of a failed call. */
const apiMessage = (err: unknown): string => {
  const body = (err as { body?: unknown } | undefined)?.body;
  try {
    return typeof body === 'string' ? (JSON.parse(body) as { message?: string }).message ?? body : String(err);
  } catch {
    return String(body);
  }
};
const labelValues = (labels: Record<string, string> | undefined) => Object.values(labels ?? {});

before(async () => {
  source = cluster(env.SOURCE_KUBECONFIG!);
  target = cluster(env.TARGET_KUBECONFIG!);
  await source.core.createNamespace({ body: { metadata: { name: srcNs } } });
  await target.core.createNamespace({ body: { metadata: { name: tgtNs } } });
  // Pods are refused until the namespace's default ServiceAccount exists.
  for (const [c, ns] of [[source, srcNs], [target, tgtNs]] as const) {
    await until(`default ServiceAccount in ${ns}`, async () => {
      const list = await c.core.listNamespacedServiceAccount({ namespace: ns });
      return list.items.some((sa) => sa.metadata?.name === 'default') ? true : undefined;
    });
  }
});

after(async () => {
  const ignoreGone = (err: unknown) => { if (apiStatus(err) !== 404) throw err; };
  await source?.core.deleteNamespace({ name: srcNs }).catch(ignoreGone);
  await target?.core.deleteNamespace({ name: tgtNs }).catch(ignoreGone);
  await source?.core.deletePersistentVolume({ name: pvName }).catch(ignoreGone);
});

describe('sanitizing against the real API servers', () => {
  it('serverSetMetadata, namespaceMapping, migrationLabel: a generated-name ConfigMap lands under its name', async () => {
    const lastApplied = '{"apiVersion":"v1","kind":"ConfigMap"}';
    const src = await inSource<k8s.V1ConfigMap>({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { generateName: 'gen-', namespace: srcNs, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } },
      data: { k: 'v' },
    });
    assert.ok(src.metadata?.uid && src.metadata.resourceVersion && src.metadata.managedFields && src.metadata.generateName === 'gen-');

    // Without the rule the target refuses the source's resourceVersion.
    await assert.rejects(target.objects.create(sanitizeWithout(serverSetMetadata, src, ctx, `${src.metadata.name}-raw`)),
      (err) => { assert.ok(apiStatus(err)! >= 400, String(err)); return true; });

    const created = await target.objects.create(sanitize(src, ctx));
    assert.equal(created.metadata?.name, src.metadata.name);
    assert.equal(created.metadata?.namespace, tgtNs);
    assert.equal(created.metadata?.generateName, undefined);
    assert.notEqual(created.metadata?.uid, src.metadata.uid);
    assert.equal(created.metadata?.labels?.[MIGRATION_ID_LABEL], 'san-test');
    assert.equal(created.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], lastApplied);
    assert.deepEqual(created.data, { k: 'v' });
  });

  it('namespaceMapping: a RoleBinding\'s subjects follow their namespace', async () => {
    const src = await inSource<k8s.V1RoleBinding>({
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'viewers', namespace: srcNs },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: srcNs }],
    });
    const created = await target.objects.create(sanitize(src, ctx));
    assert.equal(created.metadata?.namespace, tgtNs);
    assert.deepEqual(plain(created.subjects), [{ kind: 'ServiceAccount', name: 'default', namespace: tgtNs }]);
  });

  it('dropStatus, deploymentRevision: a Deployment at revision 2 starts at revision 1 in the target', async () => {
    const revision = (d: k8s.V1Deployment | undefined) => d?.metadata?.annotations?.['deployment.kubernetes.io/revision'];
    const labels = { app: `rev-${run}` };
    const first = await source.objects.create<k8s.V1Deployment>({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'rev', namespace: srcNs },
      spec: { replicas: 1, selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'registry.example/app:1' }] } } },
    });
    await until('revision 1 in the source', async () => (revision(await source.objects.read(header(first))) === '1' ? true : undefined));
    // A rollout: the template changes, the source moves to revision 2.
    await until('the template update', async () => {
      const d = await source.objects.read<k8s.V1Deployment>(header(first));
      d.spec!.template.spec!.containers[0]!.image = 'registry.example/app:2';
      try {
        return await source.objects.replace(d);
      } catch (err) {
        if (apiStatus(err) === 409) return undefined;
        throw err;
      }
    });
    const src = await until('revision 2 and a status in the source', async () => {
      const d = await source.objects.read<k8s.V1Deployment>(header(first));
      return revision(d) === '2' && d.status?.observedGeneration === 2 ? d : undefined;
    });

    const desired = sanitize(src, ctx);
    assert.equal((desired as unknown as Record<string, unknown>).status, undefined);
    assert.equal(revision(desired), undefined);
    const created = await target.objects.create(desired);
    assert.equal(revision(created), undefined);
    assert.equal(created.status?.observedGeneration, undefined);
    await until('revision 1 in the target', async () => (revision(await target.objects.read(header(created))) === '1' ? true : undefined));
  });

  it('serviceAddresses: fresh cluster IPs; node ports fresh by default, the same with keepNodePorts', async () => {
    const src = await inSource<k8s.V1Service>({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'edge', namespace: srcNs },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'edge' },
        ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'https', port: 443, targetPort: 8443 }] },
    });
    const srcPorts = src.spec!.ports!.map((p) => p.nodePort);
    assert.ok(src.spec?.clusterIP && srcPorts.every((p) => typeof p === 'number') && src.spec.healthCheckNodePort, 'the source allocated');

    // keepNodePorts first: it takes the source's ports in the target, so the default one must get others.
    const kept = await target.objects.create(sanitize(src, { ...ctx, keepNodePorts: true }));
    assert.deepEqual(kept.spec?.ports?.map((p) => p.nodePort), srcPorts);
    assert.equal(kept.spec?.healthCheckNodePort, src.spec.healthCheckNodePort);

    const fresh = sanitize(src, ctx);
    fresh.metadata!.name = 'edge-alloc';
    const allocated = await target.objects.create(fresh);
    for (const svc of [kept, allocated]) {
      assert.match(svc.spec?.clusterIP ?? '', /^[0-9a-f.:]+$/, 'a cluster IP allocated by the target');
      assert.deepEqual(svc.spec?.clusterIPs, [svc.spec?.clusterIP]);
    }
    const freshPorts = allocated.spec!.ports!.map((p) => p.nodePort);
    assert.ok(freshPorts.every((p) => typeof p === 'number' && !srcPorts.includes(p)), `fresh node ports ${freshPorts.join()} vs ${srcPorts.join()}`);
    assert.ok(allocated.spec?.healthCheckNodePort && allocated.spec.healthCheckNodePort !== src.spec.healthCheckNodePort);
  });

  it('serviceAddresses: a headless Service stays headless', async () => {
    const src = await inSource<k8s.V1Service>({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'peers', namespace: srcNs },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] },
    });
    const created = await target.objects.create(sanitize(src, ctx));
    assert.equal(created.spec?.clusterIP, 'None');
  });

  it('podNodeName: a Pod bound to a source node is scheduled by the target, keeping its nodeSelector', async () => {
    const nodes = await source.core.listNode();
    const node = nodes.items[0]?.metadata?.name;
    assert.ok(node, 'the source has a (kwok) node');
    const src = await inSource<k8s.V1Pod>({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pinned', namespace: srcNs },
      spec: { nodeName: node, nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'c', image: 'registry.example/app:1' }] },
    });
    assert.equal(src.spec?.nodeName, node);

    const created = await target.objects.create(sanitize(src, ctx));
    assert.equal(created.spec?.nodeName, undefined, 'unbound when created');
    assert.deepEqual(created.spec?.nodeSelector, { 'kubernetes.io/os': 'linux' });
    const targetNodes = new Set((await target.core.listNode()).items.map((n) => n.metadata?.name));
    const scheduled = await until('the target scheduler to bind the Pod', async () => {
      const p = await target.objects.read<k8s.V1Pod>(header(created));
      return p.spec?.nodeName ? p : undefined;
    });
    assert.ok(targetNodes.has(scheduled.spec!.nodeName), `bound to a target node: ${scheduled.spec!.nodeName}`);
    const condition = scheduled.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(condition?.status, 'True');
  });

  it('jobControllerUid: a Job gets a selector and controller-uid labels from its new uid', async () => {
    const src = await inSource<k8s.V1Job>({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: srcNs },
      spec: { suspend: true, template: { metadata: { labels: { app: 'once' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.example/task:1' }] } } },
    });
    const srcUid = src.metadata!.uid!;
    // What the real API server put there: the selector and both label forms, on the template and the Job.
    assert.deepEqual(src.spec?.selector?.matchLabels, { 'batch.kubernetes.io/controller-uid': srcUid });
    for (const label of CONTROLLER_UID_LABELS) {
      assert.equal(src.spec?.template.metadata?.labels?.[label], srcUid);
      assert.equal(src.metadata?.labels?.[label], srcUid);
    }
    assert.equal(src.spec?.manualSelector, false);

    // Without the rule the target refuses a selector it did not generate.
    await assert.rejects(target.objects.create(sanitizeWithout(jobControllerUid, src, ctx, 'once-raw')), (err) => {
      assert.equal(apiStatus(err), 422, apiMessage(err));
      assert.match(apiMessage(err), /selector/);
      return true;
    });

    const created = await target.objects.create(sanitize(src, ctx));
    const uid = created.metadata!.uid!;
    assert.notEqual(uid, srcUid);
    assert.deepEqual(created.spec?.selector?.matchLabels, { 'batch.kubernetes.io/controller-uid': uid });
    for (const label of CONTROLLER_UID_LABELS) assert.equal(created.spec?.template.metadata?.labels?.[label], uid);
    assert.equal(created.spec?.template.metadata?.labels?.app, 'once');
    assert.equal(created.spec?.template.metadata?.labels?.['job-name'], 'once');
    assert.ok(!labelValues(created.metadata?.labels).includes(srcUid), 'no source uid left in the Job\'s labels');
  });

  it('jobControllerUid: a manual selector is kept as written', async () => {
    const labels = { app: `manual-${run}` };
    const src = await inSource<k8s.V1Job>({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'manual', namespace: srcNs },
      spec: { suspend: true, manualSelector: true, selector: { matchLabels: labels }, template: { metadata: { labels },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.example/task:1' }] } } },
    });
    const created = await target.objects.create(sanitize(src, ctx));
    assert.deepEqual(created.spec?.selector, src.spec?.selector);
    assert.deepEqual(created.spec?.template.metadata?.labels, labels);
  });

  it('serviceAccountTokenRefs: references to generated token Secrets go, other Secrets and imagePullSecrets stay', async () => {
    const src = await inSource<k8s.V1ServiceAccount>({
      apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: srcNs },
      secrets: [{ name: 'builder-token-abcde' }, { name: 'registry-creds' }], imagePullSecrets: [{ name: 'pull' }],
    });
    assert.equal(src.secrets?.length, 2, 'the source keeps both references');
    const created = await target.objects.create(sanitize(src, ctx));
    assert.deepEqual(plain(created.secrets), [{ name: 'registry-creds' }]);
    assert.deepEqual(plain(created.imagePullSecrets), [{ name: 'pull' }]);
  });

  it('pvcBinding: a claim bound in the source waits for its own volume in the target instead of being Lost', async () => {
    const storageClassName = `san-${run}-manual`;
    await source.objects.create<k8s.V1PersistentVolume>({
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName },
      spec: { storageClassName, capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: `/tmp/kubeferry-${run}` } },
    });
    const claim = await source.objects.create<k8s.V1PersistentVolumeClaim>({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: srcNs },
      spec: { storageClassName, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const src = await until('the source PV controller to bind the claim', async () => {
      const c = await source.objects.read<k8s.V1PersistentVolumeClaim>(header(claim));
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    assert.equal(src.spec?.volumeName, pvName);
    assert.equal(src.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');

    // Without the rule, the target's PV controller declares the claim Lost: its volume is not there.
    const raw = await target.objects.create(sanitizeWithout(pvcBinding, src, ctx, 'data-raw'));
    await until('the unsanitized claim to be Lost', async () =>
      ((await target.objects.read<k8s.V1PersistentVolumeClaim>(header(raw))).status?.phase === 'Lost' ? true : undefined));

    const created = await target.objects.create(sanitize(src, ctx));
    assert.equal(created.spec?.volumeName, undefined);
    assert.deepEqual(Object.keys(created.metadata?.annotations ?? {}).filter((a) => a.startsWith('pv.kubernetes.io/')), []);
    // The raw claim went Lost in one sync; give the sanitized one the same chance, then it must be Pending.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const later = await target.objects.read<k8s.V1PersistentVolumeClaim>(header(created));
    assert.equal(later.status?.phase, 'Pending');
    assert.equal(later.spec?.volumeName, undefined);
  });

  it('ownerReferences: rewritten to the target owner\'s uid, dropped when the owner is not there', async () => {
    const parentSrc = await inSource<k8s.V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'parent', namespace: srcNs } });
    const goneSrc = await inSource<k8s.V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'not-migrated', namespace: srcNs } });
    const ref = (o: k8s.V1ConfigMap): k8s.V1OwnerReference =>
      ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid!, blockOwnerDeletion: true });
    const child = await inSource<k8s.V1ConfigMap>({
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'child', namespace: srcNs, ownerReferences: [ref(parentSrc), ref(goneSrc)] },
    });

    // The restore step resolves owners in the target beforehand; here: the parent, migrated first.
    const parent = await target.objects.create(sanitize(parentSrc, ctx));
    const owners = new Map([[`v1/ConfigMap/${tgtNs}/parent`, parent.metadata!.uid!]]);
    const asked: OwnerKey[] = [];
    const ownerUid = (o: OwnerKey) => { asked.push(o); return owners.get(`${o.apiVersion}/${o.kind}/${o.namespace}/${o.name}`); };

    // Without the rule the source uids stay, and the target's garbage collector deletes the object.
    const raw = await target.objects.create(sanitizeWithout(ownerReferences, child, { ...ctx, ownerUid }, 'child-raw'));
    const created = await target.objects.create(sanitize(child, { ...ctx, ownerUid }));
    assert.deepEqual(asked.map((o) => o.namespace), [tgtNs, tgtNs], 'asked with the mapped namespace');
    assert.deepEqual(plain(created.metadata?.ownerReferences), [{ ...ref(parentSrc), uid: parent.metadata!.uid! }]);
    await until('the garbage collector to delete the unsanitized child', async () => ((await readOrGone(target, raw)) ? undefined : true));
    assert.ok(await readOrGone(target, created), 'the sanitized child survived the same garbage collector');

    // Without a lookup every reference goes.
    const orphan = sanitize(child, ctx);
    orphan.metadata!.name = 'child-orphan';
    assert.equal((await target.objects.create(orphan)).metadata?.ownerReferences, undefined);

    // The reference is live: deleting the target parent takes the child with it.
    await target.objects.delete(parent);
    await until('the garbage collector to delete the child with its parent', async () => ((await readOrGone(target, created)) ? undefined : true));
  });
});
