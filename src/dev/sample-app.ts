// A realistic app to migrate on the local stack (profile "full", the default):
//   shop      the web storefront: a Deployment of the stack's test app on the clusters' REAL nodes (real
//             readiness probe, real pods answering), served through HAProxy at /shop/web/ and through a Gateway
//             API HTTPRoute that splits between the source cluster (ExternalName Service web-source) and
//             the local Service web; its ServiceAccount, ConfigMap, Secret, a Role and RoleBinding, a PDB,
//             and feature flags (custom resources)
//   billing   an API Deployment with an HPA (autoscaling/v2) and a Role for leader election, and a ledger
//             StatefulSet with its headless Service, its own ConfigMap and Secret mounted as volumes, a PDB
//   platform  the flag service (Deployment, reads the FeatureFlags of every namespace through the ClusterRole
//             featureflag-reader, bound by a RoleBinding in each namespace) and the Gateway the route attaches to
//   cluster   the CustomResourceDefinition featureflags.shop.example.com and the ClusterRole
// Every other workload runs on kwok nodes. No PersistentVolumeClaims yet: restored claims would come up
// empty, since volume data does not move (yet). No Ready condition on the FeatureFlags either: nothing in
// the target would set it again.
// The profile "basic" is the small app the integration tests count on: namespaces shop and billing, each
// with a Deployment, its Service, a ConfigMap, a Secret and a ServiceAccount (6 objects per namespace);
// its web runs on the real nodes too.
import * as k8s from '@kubernetes/client-node';

export type SampleAppProfile = 'full' | 'basic';

export interface SampleApp {
  namespaces: string[];
  /**
   * Every workload, as a route names it: "namespace/name" for Deployments, "statefulset/namespace/name"
   * for StatefulSets (waitAvailable takes both).
   */
  workloads: string[];
  /** The namespace of the web entrypoint served through HAProxy. */
  webNamespace: string;
  /** Cluster-scoped objects of the app, as "Kind/name" (shared by every prefix for the CRD). */
  clusterObjects: string[];
  /** Objects seeded, by kind. */
  kinds: Record<string, number>;
  /** The HTTPRoute that splits web traffic between the two clusters (profile "full"). */
  httpRoute?: { namespace: string; name: string; sourceBackend: string; targetBackend: string };
}

type Manifest = k8s.KubernetesObject & Record<string, unknown>;

export const FEATURE_FLAG_CRD = 'featureflags.shop.example.com';
/** The stack's own test app (src/dev/test-app/server.ts), imported into each real node's containerd. */
export const TEST_APP_IMAGE = 'kubeferry.local/test-app:1';

/** A Deployment with its ServiceAccount, ConfigMap, Secret and Service (the "basic" unit). */
/** A workload whose pods carry the label `app` and run as the ServiceAccount of its name. */
const workload = (kind: 'Deployment' | 'StatefulSet', ns: string, app: string, spec: object, pod: object): Manifest => ({
  apiVersion: 'apps/v1', kind, metadata: { name: app, namespace: ns, labels: { app } },
  spec: { ...spec, selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { serviceAccountName: app, ...pod } } },
});

/**
 * Pins a pod to the clusters' real nodes (scripts/stack/real-nodes.sh labels and taints them alike in both
 * clusters, so the pin is copied as it is) and runs the stack's test app there, with real probes.
 */
const onRealNode = (app: string) => ({
  pod: {
    nodeSelector: { 'kubeferry.io/node': 'real' },
    tolerations: [{ key: 'kubeferry.io/real-node', operator: 'Exists', effect: 'NoSchedule' }],
    // Long enough for the app's drain (3 s) while the endpoint leaves every load balancer.
    terminationGracePeriodSeconds: 10,
  },
  container: {
    name: app, image: TEST_APP_IMAGE, imagePullPolicy: 'Never', ports: [{ name: 'http', containerPort: 8080 }],
    env: [
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ],
    readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
  },
});

/** A pod for the kwok nodes: they run nothing, so its image is a name only. */
const onKwok = (app: string) => ({
  pod: {},
  container: { name: app, image: `registry.example/shop/${app}:1.4.2`, ports: [{ containerPort: 8080 }], env: [] as object[] },
});

const service = (ns: string, app: string, replicas: number, { team = 'shop', resources, realNode = false }: { team?: string; resources?: object; realNode?: boolean } = {}): Manifest[] => {
  const { pod, container } = realNode ? onRealNode(app) : onKwok(app);
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: app, namespace: ns } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app}-config`, namespace: ns }, data: { 'app.properties': `name=${app}\nlog.level=info\n` } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${app}-credentials`, namespace: ns }, type: 'Opaque', stringData: { password: `s3cr3t-${app}-${ns}` } },
    workload('Deployment', ns, app, { replicas }, {
      ...pod,
      containers: [{
        ...container, envFrom: [{ configMapRef: { name: `${app}-config` } }],
        env: [...container.env, { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: `${app}-credentials`, key: 'password' } } }],
        ...(resources ? { resources } : {}),
      }],
    }),
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: app, namespace: ns },
      spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
};

const featureFlagCrd: Manifest = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: FEATURE_FLAG_CRD },
  spec: {
    group: 'shop.example.com',
    scope: 'Namespaced',
    names: { plural: 'featureflags', singular: 'featureflag', kind: 'FeatureFlag', listKind: 'FeatureFlagList', shortNames: ['ff'] },
    versions: [{
      name: 'v1', served: true, storage: true,
      subresources: { status: {} },
      additionalPrinterColumns: [
        { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
        { name: 'Rollout', type: 'integer', jsonPath: '.spec.rolloutPercent' },
      ],
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object', required: ['enabled'],
              properties: {
                enabled: { type: 'boolean' },
                rolloutPercent: { type: 'integer', minimum: 0, maximum: 100 },
                description: { type: 'string' },
              },
            },
            status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        },
      },
    }],
  },
};

const featureFlag = (ns: string, name: string, enabled: boolean, rolloutPercent: number, description: string): Manifest => ({
  apiVersion: 'shop.example.com/v1', kind: 'FeatureFlag', metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'flagd' } },
  spec: { enabled, rolloutPercent, description },
});

/** Lets platform's flag service read the FeatureFlags of a namespace: the ClusterRole, bound there. */
const flagReaderBinding = (ns: string, platform: string, clusterRole: string): Manifest => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'flagd-featureflags', namespace: ns },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
  subjects: [{ kind: 'ServiceAccount', name: 'flagd', namespace: platform }],
});

const role = (ns: string, name: string, rules: object[], serviceAccount: string): Manifest[] => [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }],
  },
];

function fullApp(prefix: string) {
  const [shop, billing, platform] = [`${prefix}shop`, `${prefix}billing`, `${prefix}platform`];
  const clusterRole = `${prefix}featureflag-reader`;
  const cluster: Manifest[] = [
    featureFlagCrd,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: clusterRole },
      rules: [{ apiGroups: ['shop.example.com'], resources: ['featureflags'], verbs: ['get', 'list', 'watch'] }],
    },
  ];
  const namespaced: Manifest[] = [
    // shop: the storefront.
    ...service(shop, 'web', 3, { team: 'shop', realNode: true, resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } } }),
    {
      // The source cluster's web, reached through its ingress: the route's source backend in the target.
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-source', namespace: shop, labels: { 'kubeferry.io/role': 'source-backend' } },
      spec: { type: 'ExternalName', externalName: 'web.shop.source.cluster.example', ports: [{ port: 80 }] },
    },
    ...role(shop, 'web-config-reader', [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['web-config'], verbs: ['get', 'watch'] }], 'web'),
    flagReaderBinding(shop, platform, clusterRole),
    {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: shop },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web', namespace: shop },
      spec: {
        parentRefs: [{ name: 'public', namespace: platform }],
        hostnames: ['shop.example.com'],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: 'web-source', port: 80, weight: 100 }, { name: 'web', port: 80, weight: 0 }],
          },
        ],
      },
    },
    featureFlag(shop, 'new-checkout', true, 20, 'the one-page checkout'),
    featureFlag(shop, 'dark-mode', false, 0, 'dark theme for the storefront'),

    // billing: the API with its autoscaler, and the ledger database.
    ...service(billing, 'api', 2, { team: 'billing', resources: { requests: { cpu: '200m', memory: '192Mi' }, limits: { memory: '384Mi' } } }),
    {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api', namespace: billing },
      spec: {
        // Between min and max already, so that without a metrics server it never scales anything.
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: 6,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      },
    },
    ...role(billing, 'api-leader-election', [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }], 'api'),
    flagReaderBinding(billing, platform, clusterRole),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ledger', namespace: billing } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ledger-config', namespace: billing }, data: { 'postgresql.conf': 'max_connections = 200\nshared_buffers = 256MB\n' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ledger-credentials', namespace: billing }, type: 'Opaque', stringData: { username: 'ledger', password: `s3cr3t-ledger-${billing}` } },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'ledger', namespace: billing, labels: { app: 'ledger' } },
      spec: { clusterIP: 'None', selector: { app: 'ledger' }, ports: [{ name: 'postgres', port: 5432 }] },
    },
    workload('StatefulSet', billing, 'ledger', { serviceName: 'ledger', replicas: 2, podManagementPolicy: 'Parallel' }, {
      containers: [{
        name: 'postgres', image: 'registry.example/billing/postgres:16.4', ports: [{ name: 'postgres', containerPort: 5432 }],
        env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
        volumeMounts: [
          { name: 'config', mountPath: '/etc/postgresql' },
          { name: 'credentials', mountPath: '/etc/ledger', readOnly: true },
          { name: 'data', mountPath: '/var/lib/postgresql/data' },
        ],
      }],
      volumes: [
        { name: 'config', configMap: { name: 'ledger-config' } },
        { name: 'credentials', secret: { secretName: 'ledger-credentials' } },
        { name: 'data', emptyDir: {} },
      ],
    }),
    {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'ledger', namespace: billing },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'ledger' } } },
    },
    featureFlag(billing, 'invoice-v2', true, 100, 'the new invoice layout'),

    // platform: the flag service and the Gateway.
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: platform, labels: { team: 'platform' } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'flagd', namespace: platform } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flagd-config', namespace: platform }, data: { 'flagd.yaml': `sources:\n  - namespaces: [${shop}, ${billing}, ${platform}]\n` } },
    flagReaderBinding(platform, platform, clusterRole),
    workload('Deployment', platform, 'flagd', { replicas: 2 }, {
      containers: [{
        name: 'flagd', image: 'registry.example/platform/flagd:0.11.1', ports: [{ containerPort: 8013 }],
        args: ['start', '--config', '/etc/flagd/flagd.yaml'],
        volumeMounts: [{ name: 'config', mountPath: '/etc/flagd' }],
      }],
      volumes: [{ name: 'config', projected: { sources: [{ configMap: { name: 'flagd-config' } }] } }],
    }),
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'flagd', namespace: platform },
      spec: { selector: { app: 'flagd' }, ports: [{ port: 8013, targetPort: 8013 }] },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'public', namespace: platform },
      spec: {
        gatewayClassName: 'example',
        listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }],
      },
    },
    featureFlag(platform, 'maintenance-mode', false, 0, 'answer 503 with a maintenance page everywhere'),
  ];
  return {
    cluster,
    namespaced,
    app: {
      namespaces: [shop, billing, platform],
      workloads: [`${shop}/web`, `${billing}/api`, `statefulset/${billing}/ledger`, `${platform}/flagd`],
      webNamespace: shop,
      clusterObjects: [`CustomResourceDefinition/${FEATURE_FLAG_CRD}`, `ClusterRole/${clusterRole}`],
      httpRoute: { namespace: shop, name: 'web', sourceBackend: 'web-source', targetBackend: 'web' },
    },
  };
}

function basicApp(prefix: string) {
  const [shop, billing] = [`${prefix}shop`, `${prefix}billing`];
  return {
    cluster: [] as Manifest[],
    namespaced: [...service(shop, 'web', 3, { realNode: true }), ...service(billing, 'api', 2)],
    app: { namespaces: [shop, billing], workloads: [`${shop}/web`, `${billing}/api`], webNamespace: shop, clusterObjects: [] as string[] },
  };
}

const errorCode = (err: unknown) => (err as { code?: number }).code;

/** Creates an object, leaving one that already exists as it is. */
async function createOnce(client: k8s.KubernetesObjectApi, obj: Manifest): Promise<void> {
  // Right after a CRD is Established the API server may take a moment to serve its kind.
  for (let attempt = 1; ; attempt++) {
    try {
      await client.create(obj);
      return;
    } catch (err) {
      if (errorCode(err) === 409) return;
      const unserved = errorCode(err) === 404 || /Unrecognized API|does not have a resource type|is not supported/i.test(String(err));
      if (!unserved || attempt >= 20) throw new Error(`creating ${obj.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Waits until a CustomResourceDefinition is Established, i.e. its kind is served. */
export async function waitEstablished(kc: k8s.KubeConfig, name: string, timeoutMs = 30_000): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crd = await api.readCustomResourceDefinition({ name }).catch(() => undefined);
    if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CustomResourceDefinition ${name} not Established after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Creates (or finds) the app in a cluster; `prefix` keeps parallel runs apart (the CRD is shared: its name
 * is fixed by its group). Idempotent: objects that already exist are left as they are.
 */
export async function seedSampleApp(kc: k8s.KubeConfig, prefix = '', { profile = 'full' as SampleAppProfile } = {}): Promise<SampleApp> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const { cluster, namespaced, app } = profile === 'basic' ? basicApp(prefix) : fullApp(prefix);
  const isCustom = (o: Manifest) => o.apiVersion === 'shop.example.com/v1';
  for (const obj of cluster) await createOnce(client, obj);
  if (cluster.some((o) => o.kind === 'CustomResourceDefinition')) await waitEstablished(kc, FEATURE_FLAG_CRD);
  // Namespaces first, then everything else (16 at a time), custom resources last.
  const byPhase = [
    namespaced.filter((o) => o.kind === 'Namespace'),
    namespaced.filter((o) => o.kind !== 'Namespace' && !isCustom(o)),
    namespaced.filter(isCustom),
  ];
  for (const objects of byPhase) {
    for (let i = 0; i < objects.length; i += 16) await Promise.all(objects.slice(i, i + 16).map((o) => createOnce(client, o)));
  }
  const kinds: Record<string, number> = {};
  for (const o of [...cluster, ...namespaced]) kinds[o.kind!] = (kinds[o.kind!] ?? 0) + 1;
  return { ...app, kinds };
}

/** Waits until every workload of the app ("namespace/name" Deployments, "statefulset/namespace/name") is ready in that cluster. */
export async function waitAvailable(kc: k8s.KubeConfig, workloads: string[], timeoutMs = 60_000): Promise<void> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(workloads.map(async (ref) => {
      const parts = ref.split('/');
      const [kind, namespace, name] = (parts.length === 3 ? parts : ['deployment', ...parts]) as [string, string, string];
      if (kind.toLowerCase() === 'statefulset') {
        const s = await apps.readNamespacedStatefulSet({ namespace, name }).catch(() => undefined);
        const want = s?.spec?.replicas ?? 1;
        return !!s && (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 1) && (s.status?.readyReplicas ?? 0) >= want
          && (s.status?.availableReplicas ?? 0) >= want;
      }
      const d = await apps.readNamespacedDeployment({ namespace, name }).catch(() => undefined);
      return d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;
    }));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`workloads not ready after ${timeoutMs / 1000}s: ${workloads.filter((_, i) => !states[i]).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function deleteNamespaces(kc: k8s.KubeConfig, namespaces: string[]): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await Promise.all(namespaces.map((name) => core.deleteNamespace({ name }).catch(() => undefined)));
}

/** Deletes the app's cluster-scoped objects ("Kind/name" as in SampleApp.clusterObjects); missing ones are fine. */
export async function deleteClusterObjects(kc: k8s.KubeConfig, ids: string[]): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const crds = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await Promise.all(ids.map(async (id) => {
    const [kind, name] = id.split('/') as [string, string];
    if (kind === 'ClusterRole') await rbac.deleteClusterRole({ name }).catch(() => undefined);
    else if (kind === 'CustomResourceDefinition') await crds.deleteCustomResourceDefinition({ name }).catch(() => undefined);
    else throw new Error(`deleteClusterObjects: unexpected kind ${kind}`);
  }));
}
