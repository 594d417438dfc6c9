// A small but realistic app to migrate on the local stack: two namespaces, each with a Deployment, its
// Service, a ConfigMap, a Secret and a ServiceAccount the pods run as and mount.
import * as k8s from '@kubernetes/client-node';

export interface SampleApp {
  namespaces: string[];
  /** namespace/name of each Deployment */
  workloads: string[];
  /** The namespace of the web entrypoint served through HAProxy. */
  webNamespace: string;
}

const manifests = (ns: string, app: string, replicas: number): k8s.KubernetesObject[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: 'shop' } } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: app, namespace: ns } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app}-config`, namespace: ns }, data: { 'app.properties': `name=${app}\nlog.level=info\n` } } as k8s.V1ConfigMap,
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${app}-credentials`, namespace: ns }, type: 'Opaque', stringData: { password: `s3cr3t-${app}-${ns}` } } as k8s.V1Secret,
  {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: app, namespace: ns, labels: { app } },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          serviceAccountName: app,
          containers: [{
            name: app, image: 'registry.example/shop/' + app + ':1.4.2', ports: [{ containerPort: 8080 }],
            envFrom: [{ configMapRef: { name: `${app}-config` } }],
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: `${app}-credentials`, key: 'password' } } }],
          }],
        },
      },
    },
  } as k8s.V1Deployment,
  {
    apiVersion: 'v1', kind: 'Service', metadata: { name: app, namespace: ns },
    spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
  } as k8s.V1Service,
];

/** Creates (or finds) the app in a cluster; `prefix` keeps parallel runs apart. */
export async function seedSampleApp(kc: k8s.KubeConfig, prefix = ''): Promise<SampleApp> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const shop = `${prefix}shop`;
  const billing = `${prefix}billing`;
  const objects = [...manifests(shop, 'web', 3), ...manifests(billing, 'api', 2)];
  for (const obj of objects) {
    try {
      await client.create(obj);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  return { namespaces: [shop, billing], workloads: [`${shop}/web`, `${billing}/api`], webNamespace: shop };
}

/** Waits until every Deployment of the app is Available in that cluster. */
export async function waitAvailable(kc: k8s.KubeConfig, workloads: string[], timeoutMs = 60_000): Promise<void> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(workloads.map(async (ref) => {
      const [namespace, name] = ref.split('/') as [string, string];
      const d = await apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined);
      return d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;
    }));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`Deployments not Available after ${timeoutMs / 1000}s: ${workloads.filter((_, i) => !states[i]).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function deleteNamespaces(kc: k8s.KubeConfig, namespaces: string[]): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
}
