// The objects a benchmark run moves: a realistic mix of ConfigMaps, Secrets, Services, Deployments and
// custom resources, spread over namespaces. Pure: the same count and run id give the same objects.

export const WIDGET_CRD = 'widgets.bench.kubeferry.dev';

/** Share of each kind in every 20 objects: 35 % ConfigMaps, 25 % Secrets, 15 % Services, 10 % Deployments, 15 % custom resources. */
const PATTERN = ['cm', 'secret', 'cm', 'svc', 'cm', 'secret', 'deploy', 'widget', 'cm', 'secret', 'cm', 'svc', 'widget', 'cm', 'secret', 'deploy', 'cm', 'svc', 'widget', 'secret'] as const;
type Slot = (typeof PATTERN)[number];

export interface BenchObject {
  kind: string;
  namespace: string;
  name: string;
  /** The collection to POST it to. */
  collection: string;
  body: Record<string, unknown>;
}

export interface Mix {
  namespaces: string[];
  objects: BenchObject[];
  /** Deployments, each with one replica: the pods both clusters must schedule. */
  deployments: number;
  counts: Record<string, number>;
}

/** About 250 objects per namespace, at least two namespaces. */
export const namespaceCount = (n: number) => Math.max(2, Math.round(n / 250));

export function workloadMix(n: number, run: string): Mix {
  const namespaces = Array.from({ length: namespaceCount(n) }, (_, i) => `${run}-ns-${String(i).padStart(3, '0')}`);
  const objects: BenchObject[] = [];
  const counts: Record<string, number> = {};
  // Deployments of each namespace, for the Services there to select.
  const deploymentsIn = new Map<string, string[]>();
  const slots = Array.from({ length: n }, (_, i) => PATTERN[i % PATTERN.length]!);
  // Deployments first so every Service has one to select in its namespace.
  const order = slots.map((slot, i) => ({ slot, i })).sort((a, b) => rank(a.slot) - rank(b.slot) || a.i - b.i);
  for (const { slot, i } of order) {
    // Contiguous blocks, so every namespace holds the whole mix.
    const namespace = namespaces[Math.floor((i * namespaces.length) / n)]!;
    const o = make(slot, i, namespace, deploymentsIn);
    counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    objects.push(o);
  }
  // Interleaved as the pattern has them, as an application's manifests would be.
  objects.sort((a, b) => a.name.slice(-6).localeCompare(b.name.slice(-6)));
  return { namespaces, objects, deployments: counts.Deployment ?? 0, counts };
}

const rank = (slot: Slot) => (slot === 'deploy' ? 0 : 1);
const id = (i: number) => String(i).padStart(6, '0');

function make(slot: Slot, i: number, namespace: string, deploymentsIn: Map<string, string[]>): BenchObject {
  const labels = { 'app.kubernetes.io/part-of': 'bench', tier: `t${i % 7}` };
  switch (slot) {
    case 'cm':
      return {
        kind: 'ConfigMap', namespace, name: `config-${id(i)}`, collection: `/api/v1/namespaces/${namespace}/configmaps`,
        body: {
          apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `config-${id(i)}`, namespace, labels },
          data: { 'app.properties': `server.port=8080\nfeature.${i}=on\n${'cache.entry=value-of-moderate-length\n'.repeat(20)}`, 'log-level': 'info' },
        },
      };
    case 'secret':
      return {
        kind: 'Secret', namespace, name: `secret-${id(i)}`, collection: `/api/v1/namespaces/${namespace}/secrets`,
        body: {
          apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: `secret-${id(i)}`, namespace, labels },
          data: { username: b64(`user-${i}`), password: b64(`pw-${i}-${'x'.repeat(24)}`), 'tls.key': b64('k'.repeat(180)) },
        },
      };
    case 'deploy': {
      const name = `app-${id(i)}`;
      deploymentsIn.set(namespace, [...(deploymentsIn.get(namespace) ?? []), name]);
      return {
        kind: 'Deployment', namespace, name, collection: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        body: {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name, ...labels } },
              spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
            },
          },
        },
      };
    }
    case 'svc': {
      const candidates = deploymentsIn.get(namespace) ?? [];
      const selects = candidates[i % Math.max(1, candidates.length)];
      const name = `svc-${id(i)}`;
      return {
        kind: 'Service', namespace, name, collection: `/api/v1/namespaces/${namespace}/services`,
        body: {
          apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, labels },
          spec: { ...(selects ? { selector: { app: selects } } : {}), ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
        },
      };
    }
    case 'widget':
      return {
        kind: 'Widget', namespace, name: `widget-${id(i)}`, collection: `/apis/bench.kubeferry.dev/v1/namespaces/${namespace}/widgets`,
        body: {
          apiVersion: 'bench.kubeferry.dev/v1', kind: 'Widget', metadata: { name: `widget-${id(i)}`, namespace, labels },
          spec: { size: i % 10, colour: ['red', 'green', 'blue'][i % 3], owner: `team-${i % 5}` },
        },
      };
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The CRD of the custom resources in the mix. */
export const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: WIDGET_CRD },
  spec: {
    group: 'bench.kubeferry.dev',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

/** The same object in another namespace (the raw runs write beside kubeferry's, never into its namespaces). */
export function inNamespace(o: BenchObject, namespace: string): BenchObject {
  const body = structuredClone(o.body) as { metadata: { namespace: string } };
  body.metadata.namespace = namespace;
  return { ...o, namespace, collection: o.collection.replace(`/namespaces/${o.namespace}/`, `/namespaces/${namespace}/`), body };
}
