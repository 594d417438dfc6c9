// Resource-type filters ("deployments", "deploy", "deployments.apps", "*") resolved against the types an API
// server serves, the way kubectl resolves the names on its command line, minus the types no migration copies.

/** One served API resource at its preferred version, as discovery reports it (no subresources). */
export interface ApiResourceInfo {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  singularName?: string;
}

/** A type the filter named (or `*` covered) that is not copied, and why. */
export interface LeftOutType {
  type: string;
  reason: string;
}

export interface ResourceSelection {
  /** The types to copy, sorted by group, then resource. */
  selected: ApiResourceInfo[];
  /** Included types that are never copied, sorted like `selected`. */
  leftOut: LeftOutType[];
  /** Include entries that match no served type, as written. */
  unknown: string[];
}

/** "plural" for the core group, "plural.group" otherwise — how kubectl and the report name a type. */
export function resourceTypeName(r: Pick<ApiResourceInfo, 'group' | 'resource'>): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

const HISTORY = "events describe the source's history";
const REVIEW = 'requests put to the API server, not stored objects';
const STORAGE_BINDING = "bound to the source's nodes and volumes";
const FAIRNESS = "API server's own fairness config";
const SERVICE_NETWORK = "allocations of the source's service network";
const METRICS = "live usage measurements of the source, not stored objects";

/** Types that are state of the source cluster itself; copying them would be wrong or impossible. */
const NEVER_COPY: ReadonlyMap<string, string> = new Map([
  ['events', HISTORY],
  ['events.events.k8s.io', HISTORY],
  ['nodes', "nodes belong to the source's infrastructure"],
  ['componentstatuses', "health of the source's control-plane components"],
  ['bindings', "pod-to-node assignments of the source's scheduler"],
  ['persistentvolumes', 'volumes hold the source\'s storage; restore the claims and let the target provision'],
  ['controllerrevisions.apps', 'owned history of StatefulSets/DaemonSets; recreated by their controllers'],
  ['leases.coordination.k8s.io', 'leader-election and heartbeat state of the source'],
  ['leasecandidates.coordination.k8s.io', 'leader-election state of the source'],
  ['tokenreviews.authentication.k8s.io', REVIEW],
  ['selfsubjectreviews.authentication.k8s.io', REVIEW],
  ['subjectaccessreviews.authorization.k8s.io', REVIEW],
  ['localsubjectaccessreviews.authorization.k8s.io', REVIEW],
  ['selfsubjectaccessreviews.authorization.k8s.io', REVIEW],
  ['selfsubjectrulesreviews.authorization.k8s.io', REVIEW],
  ['certificatesigningrequests.certificates.k8s.io', "issued for the source's identities"],
  ['apiservices.apiregistration.k8s.io', "aggregation wiring of the source's API server"],
  ['flowschemas.flowcontrol.apiserver.k8s.io', FAIRNESS],
  ['prioritylevelconfigurations.flowcontrol.apiserver.k8s.io', FAIRNESS],
  ['csinodes.storage.k8s.io', STORAGE_BINDING],
  ['csistoragecapacities.storage.k8s.io', STORAGE_BINDING],
  ['volumeattachments.storage.k8s.io', STORAGE_BINDING],
  ['ipaddresses.networking.k8s.io', SERVICE_NETWORK],
  ['servicecidrs.networking.k8s.io', SERVICE_NETWORK],
  ['pods.metrics.k8s.io', METRICS],
  ['nodes.metrics.k8s.io', METRICS],
]);

const ADMISSION = "admission webhooks and policies act on every request of the whole target (a source webhook URL would receive the target's Secrets); name the type in resources.include to copy them";

/** Types copied only when resources.include names them: `*` alone never brings cluster-wide admission into the target. */
const ONLY_BY_NAME: ReadonlyMap<string, string> = new Map([
  ['mutatingwebhookconfigurations.admissionregistration.k8s.io', ADMISSION],
  ['validatingwebhookconfigurations.admissionregistration.k8s.io', ADMISSION],
  ['validatingadmissionpolicies.admissionregistration.k8s.io', ADMISSION],
  ['validatingadmissionpolicybindings.admissionregistration.k8s.io', ADMISSION],
  ['mutatingadmissionpolicies.admissionregistration.k8s.io', ADMISSION],
  ['mutatingadmissionpolicybindings.admissionregistration.k8s.io', ADMISSION],
]);

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const ENTRY = new RegExp(`^${LABEL}(\\.${LABEL})*$`, 'i');

/** Why an include/exclude entry is not a resource-type filter, or undefined if it is one. */
export function resourceFilterProblem(entry: string): string | undefined {
  if (entry === '*' || ENTRY.test(entry)) return undefined;
  if (entry.includes('*')) {
    return `"${entry}": "*" stands alone for every served type; name the types of a group one by one, e.g. "deployments.apps"`;
  }
  return `"${entry}" is not a resource type; write "*" or a type as kubectl names it, e.g. "deployments", "deploy", "deployments.apps" or "deployments.v1.apps"`;
}

const names = (r: ApiResourceInfo): string[] =>
  [r.resource, r.singularName, r.kind, ...(r.shortNames ?? [])].filter((n): n is string => !!n).map((n) => n.toLowerCase());

/**
 * The served types an entry names. Without a group suffix a name may be a plural, singular, short name or
 * kind; if the core group serves it, it means the core type only (as in kubectl: "events" is not
 * events.events.k8s.io, "pods" is not pods.metrics.k8s.io), otherwise every group that serves it. With a
 * suffix, "name.version.group" is tried first, then "name.group" with the whole suffix as the group.
 */
function resolve(entry: string, available: readonly ApiResourceInfo[]): ApiResourceInfo[] {
  if (entry === '*') return [...available];
  const [name = '', ...suffix] = entry.toLowerCase().split('.');
  const named = available.filter((r) => names(r).includes(name));
  if (!suffix.length) {
    const core = named.filter((r) => r.group === '');
    return core.length ? core : named;
  }
  if (suffix.length >= 2) {
    const [version, ...group] = suffix;
    const exact = named.filter((r) => r.version.toLowerCase() === version && r.group.toLowerCase() === group.join('.'));
    if (exact.length) return exact;
  }
  return named.filter((r) => r.group.toLowerCase() === suffix.join('.'));
}

const byGroupThenResource = (a: ApiResourceInfo, b: ApiResourceInfo): number =>
  a.group === b.group ? compare(a.resource, b.resource) : compare(a.group, b.group);
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The types a filter selects among those served. `*` in include means every served type; exclude wins over
 * include. Only types that can be listed and read are selected, and never the source's own state (events,
 * nodes, leases, ...): those are reported in `leftOut` when the filter would have selected them. Admission
 * webhooks and policies are selected only when named, never by `*`. A type that
 * cannot be listed is reported only when named, not when `*` covers it (most such types are reviews).
 */
export function selectResourceTypes(
  available: readonly ApiResourceInfo[],
  filter: { include: readonly string[]; exclude: readonly string[] },
): ResourceSelection {
  const served = [...new Map(available.map((r) => [resourceTypeName(r), r])).values()].sort(byGroupThenResource);
  const excluded = new Set(filter.exclude.flatMap((e) => resolve(e, served)).map(resourceTypeName));
  const named = new Set<string>();
  const starred = new Set<string>();
  const unknown: string[] = [];
  for (const entry of filter.include) {
    const matches = resolve(entry, served);
    if (!matches.length) unknown.push(entry);
    for (const r of matches) (entry === '*' ? starred : named).add(resourceTypeName(r));
  }

  const selected: ApiResourceInfo[] = [];
  const leftOut: LeftOutType[] = [];
  for (const r of served) {
    const type = resourceTypeName(r);
    if (excluded.has(type) || !(named.has(type) || starred.has(type))) continue;
    const listable = r.verbs.includes('list') && r.verbs.includes('get');
    const reason = NEVER_COPY.get(type) ?? (named.has(type) ? undefined : ONLY_BY_NAME.get(type));
    if (listable && !reason) selected.push(r);
    else if (reason && (listable || named.has(type))) leftOut.push({ type, reason });
    else if (named.has(type)) leftOut.push({ type, reason: `the API server does not list them (verbs: ${r.verbs.join(', ') || 'none'})` });
  }
  return { selected, leftOut, unknown };
}
