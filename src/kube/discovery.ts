// Discovery: every resource type an API server serves, custom resources included. Aggregated discovery
// (one request for /api and one for /apis, Kubernetes 1.27+) when the server offers it, the per-group
// documents otherwise.
import type { ApiResourceInfo } from '../domain/resource-filter.js';
import { KubeApiError, type KubeRest } from './rest.js';
import { gvkKey } from '../objects/served-types.js';

export interface Discovery {
  /** Each type at its group's preferred version, without subresources. */
  preferred: ApiResourceInfo[];
  /** Every served "group/version/Kind" (core group: "/v1/Kind"), at any version. */
  served: Set<string>;
}

export { gvkKey };

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9';

interface AggregatedList {
  kind?: string;
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      resources?: {
        resource: string;
        responseKind?: { group?: string; version?: string; kind?: string };
        scope?: string;
        singularResource?: string;
        verbs?: string[];
        shortNames?: string[];
      }[];
    }[];
  }[];
}

export async function discover(rest: KubeRest): Promise<Discovery> {
  const [core, groups] = await Promise.all([
    rest.get<AggregatedList>('/api', { accept: AGGREGATED }),
    rest.get<AggregatedList>('/apis', { accept: AGGREGATED }),
  ]);
  if (core?.kind === 'APIGroupDiscoveryList' && groups?.kind === 'APIGroupDiscoveryList') {
    return fromAggregated([...(core.items ?? []), ...(groups.items ?? [])]);
  }
  return legacyDiscovery(rest);
}

function fromAggregated(items: NonNullable<AggregatedList['items']>): Discovery {
  const preferred: ApiResourceInfo[] = [];
  const served = new Set<string>();
  for (const item of items) {
    const group = item.metadata?.name ?? '';
    // Versions come in preference order: the first is the preferred one.
    (item.versions ?? []).forEach((v, i) => {
      for (const r of v.resources ?? []) {
        const kind = r.responseKind?.kind;
        if (!kind || r.resource.includes('/')) continue;
        served.add(gvkKey(group, v.version, kind));
        if (i === 0) {
          preferred.push({
            group, version: v.version, resource: r.resource, kind,
            namespaced: r.scope === 'Namespaced',
            verbs: r.verbs ?? [],
            ...(r.shortNames ? { shortNames: r.shortNames } : {}),
            ...(r.singularResource ? { singularName: r.singularResource } : {}),
          });
        }
      }
    });
  }
  return { preferred, served };
}

interface ResourceList {
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[]; shortNames?: string[]; singularName?: string }[];
}

async function legacyDiscovery(rest: KubeRest): Promise<Discovery> {
  const preferred: ApiResourceInfo[] = [];
  const served = new Set<string>();
  const groups = await rest.get<{ groups: { name: string; versions: { version: string }[]; preferredVersion?: { version: string } }[] }>('/apis');
  const versions: { group: string; version: string; preferred: boolean }[] = [{ group: '', version: 'v1', preferred: true }];
  for (const g of groups.groups) {
    for (const v of g.versions) versions.push({ group: g.name, version: v.version, preferred: v.version === (g.preferredVersion?.version ?? g.versions[0]?.version) });
  }
  await Promise.all(versions.map(async ({ group, version, preferred: isPreferred }) => {
    let list: ResourceList;
    try {
      list = await rest.get<ResourceList>(group ? `/apis/${group}/${version}` : `/api/${version}`);
    } catch (err) {
      // An aggregated API that is down must not hide every other type.
      if (err instanceof KubeApiError && err.code === 503) return;
      throw err;
    }
    for (const r of list.resources) {
      if (r.name.includes('/')) continue;
      served.add(gvkKey(group, version, r.kind));
      if (isPreferred) {
        preferred.push({ group, version, resource: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs, shortNames: r.shortNames, singularName: r.singularName });
      }
    }
  }));
  return { preferred, served };
}
