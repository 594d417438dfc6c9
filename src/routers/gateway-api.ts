// Gateway API: the weights of an HTTPRoute's backendRefs. Every rule of the route that names both the
// source and the target backend gets source = 100 - percent and target = percent; rules that name only one
// of them are left alone. The update is a read-modify-write with the object's resourceVersion, retried on
// a conflict, and the weight is read back from the API server afterwards.
import { KubeApiError, type KubeRest } from '../kube/rest.js';
import { setObjectWeight } from './object-weight.js';
import { RouterError, RouterObjectMissing, type ObjectRouter, type RouterObjectRef } from './router.js';

export interface BackendRefSpec {
  name: string;
  /** Defaults to the HTTPRoute's namespace. */
  namespace?: string;
  /** Defaults to Service (core group). */
  kind?: string;
  group?: string;
}

export interface GatewayApiRouteSpec {
  namespace: string;
  httpRoute: string;
  sourceBackend: BackendRefSpec;
  targetBackend: BackendRefSpec;
}

interface BackendRef { name?: string; namespace?: string; kind?: string; group?: string; weight?: number }
interface HttpRoute { metadata?: { resourceVersion?: string }; spec?: { rules?: { backendRefs?: BackendRef[] }[] } }

const PATH = (ns: string, name: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/httproutes/${encodeURIComponent(name)}`;

export class GatewayApiRouter implements ObjectRouter {
  readonly object: RouterObjectRef;

  constructor(private readonly rest: KubeRest, private readonly spec: GatewayApiRouteSpec) {
    this.object = { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'httproutes', kind: 'HTTPRoute', namespace: spec.namespace, name: spec.httpRoute };
  }

  private matches(ref: BackendRef, want: BackendRefSpec): boolean {
    return ref.name === want.name
      && (ref.namespace ?? this.spec.namespace) === (want.namespace ?? this.spec.namespace)
      && (ref.kind ?? 'Service') === (want.kind ?? 'Service')
      && (ref.group ?? '') === (want.group ?? '');
  }

  /** The rules that split between the two backends, with both refs; a route with none is an error. */
  private splits(route: HttpRoute): { source: BackendRef; target: BackendRef }[] {
    const splits = (route.spec?.rules ?? []).flatMap((rule) => {
      const source = rule.backendRefs?.find((r) => this.matches(r, this.spec.sourceBackend));
      const target = rule.backendRefs?.find((r) => this.matches(r, this.spec.targetBackend));
      return source && target ? [{ source, target }] : [];
    });
    if (splits.length === 0) {
      throw new RouterError(
        `HTTPRoute ${this.spec.namespace}/${this.spec.httpRoute} has no rule with both backendRefs ${this.spec.sourceBackend.name} (source) ` +
          `and ${this.spec.targetBackend.name} (target); add both to the rules whose traffic should move`,
      );
    }
    return splits;
  }

  private async read(): Promise<HttpRoute> {
    try {
      return await this.rest.get<HttpRoute>(PATH(this.spec.namespace, this.spec.httpRoute));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) {
        throw new RouterObjectMissing(`HTTPRoute ${this.spec.namespace}/${this.spec.httpRoute} does not exist`);
      }
      throw err;
    }
  }

  weightOf(obj: unknown): number {
    const [first] = this.splits(obj as HttpRoute);
    const source = first!.source.weight ?? 1;
    const target = first!.target.weight ?? 1;
    return source + target === 0 ? 0 : Math.round((target / (source + target)) * 100);
  }

  async getWeight(): Promise<number> {
    return this.weightOf(await this.read());
  }

  async setWeight(percent: number): Promise<number> {
    return setObjectWeight(percent, `HTTPRoute ${this.spec.namespace}/${this.spec.httpRoute}`, async () => {
      const route = await this.read();
      for (const { source, target } of this.splits(route)) {
        source.weight = 100 - percent;
        target.weight = percent;
      }
      await this.rest.request('PUT', PATH(this.spec.namespace, this.spec.httpRoute), { body: route });
    }, () => this.getWeight());
  }
}
