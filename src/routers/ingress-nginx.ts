// ingress-nginx canary: a second Ingress for the same host and path, marked
// `nginx.ingress.kubernetes.io/canary: "true"`, routes to the target; its `canary-weight` annotation is
// the percent of requests it gets, the primary Ingress takes the rest. The weight is written with a JSON
// merge patch guarded by the object's resourceVersion and read back.
import { KubeApiError, type KubeRest } from '../kube/rest.js';
import { setObjectWeight } from './object-weight.js';
import { RouterError, RouterObjectMissing, type ObjectRouter, type RouterObjectRef } from './router.js';

export const CANARY = 'nginx.ingress.kubernetes.io/canary';
export const CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';
const CANARY_TOTAL = 'nginx.ingress.kubernetes.io/canary-weight-total';

export interface IngressNginxRouteSpec {
  namespace: string;
  canaryIngress: string;
}

interface Ingress { metadata?: { resourceVersion?: string; annotations?: Record<string, string> } }

export class IngressNginxRouter implements ObjectRouter {
  readonly object: RouterObjectRef;

  constructor(private readonly rest: KubeRest, private readonly spec: IngressNginxRouteSpec) {
    this.object = { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', namespace: spec.namespace, name: spec.canaryIngress };
  }

  private get path() {
    return `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(this.spec.namespace)}/ingresses/${encodeURIComponent(this.spec.canaryIngress)}`;
  }

  private get where() {
    return `Ingress ${this.spec.namespace}/${this.spec.canaryIngress}`;
  }

  private async read(): Promise<Ingress> {
    let ingress: Ingress;
    try {
      ingress = await this.rest.get<Ingress>(this.path);
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) throw new RouterObjectMissing(`${this.where} does not exist; create the canary Ingress that routes to the target first`);
      throw err;
    }
    this.canary(ingress);
    return ingress;
  }

  private canary(ingress: Ingress): Ingress {
    if (ingress.metadata?.annotations?.[CANARY] !== 'true') {
      // Weighting a primary Ingress would do nothing (or, worse, later become a canary by accident).
      throw new RouterError(`${this.where} is not a canary: it lacks the annotation ${CANARY}: "true"`);
    }
    return ingress;
  }

  weightOf(obj: unknown): number {
    return this.share(this.canary(obj as Ingress));
  }

  /** The canary's share in percent; canary-weight-total (default 100) is honoured. */
  private share(ingress: Ingress): number {
    const a = ingress.metadata?.annotations ?? {};
    const weight = Number(a[CANARY_WEIGHT] ?? 0);
    const total = Number(a[CANARY_TOTAL] ?? 100);
    return total > 0 ? Math.round((weight / total) * 100) : 0;
  }

  async getWeight(): Promise<number> {
    return this.share(await this.read());
  }

  async setWeight(percent: number): Promise<number> {
    return setObjectWeight(percent, this.where, async () => {
      const current = await this.read();
      const total = Number(current.metadata?.annotations?.[CANARY_TOTAL] ?? 100);
      const patch = { metadata: { resourceVersion: current.metadata?.resourceVersion, annotations: { [CANARY_WEIGHT]: String(Math.round((percent / 100) * total)) } } };
      await this.rest.request('PATCH', this.path, { body: patch, contentType: 'application/merge-patch+json' });
    }, () => this.getWeight());
  }
}
