// The local clusters' real nodes (scripts/stack/real-nodes.sh): pods that really run, with real probes,
// real volumes from local-path-provisioner, images that exist only on this machine, and each cluster's
// entry point forwarding to the pods' own addresses.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { kubeconfigFrom, stackEnv, waitFor } from '../support/stack.js';

const env = stackEnv();
const run = `rn-${randomBytes(3).toString('hex')}`;
const namespace = run;
const clusters = { source: env.SOURCE_KUBECONFIG!, target: env.TARGET_KUBECONFIG! };
const edge = { source: env.SOURCE_EDGE_URL!, target: env.TARGET_EDGE_URL! };
const realNode = { source: env.SOURCE_REAL_NODE!, target: env.TARGET_REAL_NODE! };
const [labelKey, labelValue] = env.REAL_NODE_LABEL!.split('=') as [string, string];

const kcs = { source: kubeconfigFrom(clusters.source), target: kubeconfigFrom(clusters.target) };
const core = { source: kcs.source.makeApiClient(k8s.CoreV1Api), target: kcs.target.makeApiClient(k8s.CoreV1Api) };
type Cluster = keyof typeof core;

/** A pod of the stack's test app pinned to the real node, as the sample app's web is. */
function testAppPod(name: string, { env: extraEnv = [], volumes = [], volumeMounts = [], image = env.TEST_APP_IMAGE! }: {
  env?: k8s.V1EnvVar[]; volumes?: k8s.V1Volume[]; volumeMounts?: k8s.V1VolumeMount[]; image?: string;
} = {}): k8s.V1Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: name } },
    spec: {
      nodeSelector: { [labelKey]: labelValue },
      tolerations: [{ key: env.REAL_NODE_TAINT!, operator: 'Exists', effect: 'NoSchedule' }],
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 5,
      volumes,
      containers: [{
        name: 'app', image, imagePullPolicy: image === env.TEST_APP_IMAGE ? 'Never' : 'IfNotPresent',
        ports: [{ name: 'http', containerPort: 8080 }],
        env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, ...extraEnv],
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
        volumeMounts,
      }],
    },
  };
}

const readyCondition = (pod: k8s.V1Pod) => pod.status?.conditions?.find((c) => c.type === 'Ready');
const isReady = (pod: k8s.V1Pod) => readyCondition(pod)?.status === 'True';
const readPod = (cluster: Cluster, name: string) => core[cluster].readNamespacedPod({ namespace, name });
const waitReady = (cluster: Cluster, name: string, timeoutMs = 60_000) =>
  waitFor(`pod ${name} Ready in ${cluster}`, async () => { const p = await readPod(cluster, name); return isReady(p) ? p : undefined; }, timeoutMs);
async function deletePodAndWait(cluster: Cluster, name: string): Promise<void> {
  await core[cluster].deleteNamespacedPod({ namespace, name }).catch(() => undefined);
  await waitFor(`pod ${name} gone from ${cluster}`, async () => (await readPod(cluster, name).then(() => undefined, () => true)), 60_000);
}

before(async () => {
  for (const c of ['source', 'target'] as const) {
    await core[c].createNamespace({ body: { metadata: { name: namespace } } });
    // Each cluster has its real node, Ready, labelled and tainted as the stack says.
    const node = await core[c].readNode({ name: realNode[c] });
    assert.equal(node.metadata?.labels?.[labelKey], labelValue);
    assert.ok(node.spec?.taints?.some((t) => t.key === env.REAL_NODE_TAINT && t.effect === 'NoSchedule'), `${realNode[c]} is not tainted`);
    assert.ok(node.status?.conditions?.some((t) => t.type === 'Ready' && t.status === 'True'), `${realNode[c]} is not Ready`);
  }
});

after(async () => {
  for (const c of ['source', 'target'] as const) await core[c].deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('real nodes', () => {
  it('keeps a running pod unready until its readiness probe answers, and unready again when it stops answering', async () => {
    const name = 'slow-start';
    await core.source.createNamespacedPod({ namespace, body: testAppPod(name, { env: [{ name: 'START_DELAY_MS', value: '4000' }] }) });
    // Seen running but not ready: the probe is what holds it back, not the container's start.
    const runningUnready = await waitFor('the container running while the pod is unready', async () => {
      const p = await readPod('source', name);
      return p.status?.containerStatuses?.[0]?.state?.running && !isReady(p) ? p : undefined;
    }, 60_000);
    assert.equal(runningUnready.spec?.nodeName, realNode.source);
    const ready = await waitReady('source', name);
    const startedAt = new Date(ready.status!.containerStatuses![0]!.state!.running!.startedAt!).getTime();
    const readyAt = new Date(readyCondition(ready)!.lastTransitionTime!).getTime();
    assert.ok(readyAt - startedAt >= 3000, `Ready ${readyAt - startedAt} ms after the container started, before its 4 s start delay`);
    // The pod really runs on this machine: its address on the node's bridge answers, and names the pod.
    const ip = ready.status!.podIP!;
    const answer = (await (await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, string>;
    assert.deepEqual([answer.cluster, answer.node, answer.pod], ['source', realNode.source, name]);
    // Told to fail its readiness endpoint, the kubelet's probe turns the pod unready.
    await fetch(`http://${ip}:8080/control/ready`, { method: 'POST', body: JSON.stringify({ ready: false }) });
    await waitFor('the pod unready after its probe fails', async () => (isReady(await readPod('source', name)) ? undefined : true), 20_000);
    await deletePodAndWait('source', name);
  });

  it('routes requests through the cluster entry point to ready real pods only, whose network ends at their own range, and answers 503 when none is', async () => {
    const name = 'routed';
    const svc: k8s.V1Service = {
      metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    await core.target.createNamespacedService({ namespace, body: svc });
    await core.target.createNamespacedPod({ namespace, body: testAppPod(name) });
    const url = `${edge.target}/${namespace}/${name}/hello`;
    const body = await waitFor('the entry point serving the pod', async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return res.ok ? ((await res.json()) as Record<string, string>) : undefined;
    }, 60_000);
    // The pod answered, with the path past the Service's prefix, and named the target cluster.
    assert.deepEqual([body.cluster, body.pod, body.path], ['target', name, '/hello']);
    // Its network ends at its own range (kubectl exec goes through the API server to the kubelet): no
    // default route, so a connection to anything else is refused at once, never sent off the machine.
    const exec = (...cmd: string[]) => promisify(execFile)(env.KUBECTL!, ['--kubeconfig', clusters.target, 'exec', '-n', namespace, name, '--', ...cmd]);
    assert.equal((await exec('ip', 'route')).stdout.trim(), `${env.TARGET_POD_CIDR} dev eth0 scope link  src ${(await readPod('target', name)).status!.podIP}`);
    const connect = "require('net').connect(80, '192.0.2.1').on('connect', () => process.exit(0)).on('error', (e) => { console.error(e.code); process.exit(1); })";
    const outside = await exec('node', '-e', connect).then(() => 'connected', (err: { stderr?: string }) => err.stderr ?? '');
    assert.match(outside, /ENETUNREACH/);
    await deletePodAndWait('target', name);
    const res = await waitFor('503 once no endpoint is ready', async () => {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return r.status === 503 ? r : undefined;
    }, 30_000);
    assert.match(((await res.json()) as { error: string }).error, /no ready endpoints/);
  });

  it('reaches a pod through its hostPort on the node (CNI portmap)', async () => {
    const name = 'host-port';
    const pod = testAppPod(name);
    pod.spec!.containers[0]!.ports = [{ name: 'http', containerPort: 8080, hostPort: 18480 }];
    await core.target.createNamespacedPod({ namespace, body: pod });
    await waitReady('target', name);
    const node = await core.target.readNode({ name: realNode.target });
    const nodeIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    for (const host of [nodeIP, '127.0.0.1']) {
      const body = await waitFor(`the pod through ${host}:18480`, async () => {
        const res = await fetch(`http://${host}:18480/through-host-port`, { signal: AbortSignal.timeout(3000) });
        return res.ok ? ((await res.json()) as Record<string, string>) : undefined;
      }, 15_000);
      assert.deepEqual([body.pod, body.path], [name, '/through-host-port']);
    }
    await deletePodAndWait('target', name);
  });

  it('binds a local-path volume, and what a pod wrote there is read back by the next pod', async () => {
    const claim = 'data';
    await core.source.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: claim, namespace },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: env.LOCAL_PATH_STORAGE_CLASS!, resources: { requests: { storage: '16Mi' } } },
      },
    });
    const withVolume = (name: string) => testAppPod(name, {
      env: [{ name: 'DATA_DIR', value: '/data' }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    });
    await core.source.createNamespacedPod({ namespace, body: withVolume('writer') });
    const writer = await waitReady('source', 'writer', 90_000);
    const pvc = await core.source.readNamespacedPersistentVolumeClaim({ namespace, name: claim });
    assert.equal(pvc.status?.phase, 'Bound');
    const pv = await core.source.readPersistentVolume({ name: pvc.spec!.volumeName! });
    assert.equal(pv.spec?.storageClassName, env.LOCAL_PATH_STORAGE_CLASS);
    const pinned = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.flatMap((t) => t.matchExpressions ?? []).flatMap((e) => e.values ?? []);
    assert.deepEqual(pinned, [realNode.source], 'the volume is not on the real node');
    const text = `written by writer at ${new Date().toISOString()}`;
    const put = await fetch(`http://${writer.status!.podIP}:8080/data/greeting.txt`, { method: 'PUT', body: text });
    assert.equal(put.status, 201);
    await deletePodAndWait('source', 'writer');
    await core.source.createNamespacedPod({ namespace, body: withVolume('reader') });
    const reader = await waitReady('source', 'reader', 90_000);
    const got = (await (await fetch(`http://${reader.status!.podIP}:8080/data/greeting.txt`)).json()) as { content: string; pod: string };
    assert.deepEqual([got.pod, got.content], ['reader', text]);
    await deletePodAndWait('source', 'reader');
  });

  it('fails a pull from outside this machine at once instead of waiting on a registry', async () => {
    const name = 'remote-image';
    const started = Date.now();
    await core.target.createNamespacedPod({ namespace, body: testAppPod(name, { image: 'docker.io/library/nginx:1.29' }) });
    const waiting = await waitFor('the pull refused', async () => {
      const reason = (await readPod('target', name)).status?.containerStatuses?.[0]?.state?.waiting?.reason;
      return reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? reason : undefined;
    }, 30_000);
    console.log(`pull refused (${waiting}) ${((Date.now() - started) / 1000).toFixed(1)} s after the pod was created`);
    const events = await core.target.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
    assert.ok(events.items.some((e) => /127\.0\.0\.1:9|connection refused/.test(e.message ?? '')), `no refused pull among: ${events.items.map((e) => e.message).join(' | ')}`);
    await deletePodAndWait('target', name);
  });
});
