// Collecting a selection from the source: discover what the API server serves, resolve the request's
// filters against it, then stream the selected objects type by type, page by page, to a sink (S3
// archives for a backup; lookups in the target for a plan). Only ids, references and a few labels are
// kept in memory, never the objects themselves.
import { ApplicationFailure } from '@temporalio/activity';
import type { PlanNode } from '../domain/dependency-graph.js';
import { isClusterScopedId, kindKeyOf, objectId, referencesOf, type ObjectLike } from '../domain/references.js';
import { selectNamespaces } from '../domain/request.js';
import { resourceTypeName, selectResourceTypes, type ApiResourceInfo, type LeftOutType } from '../domain/resource-filter.js';
import type { LeftOutGroup, SelectionFilters, RawObject, TypeEntry } from '../store/backup-format.js';
import type { Cluster } from '../kube/clusters.js';
import { discover } from '../kube/discovery.js';
import { KubeApiError, listManyAhead, listPages, resourcePath } from '../kube/rest.js';
import { collectionStage, leaveOutReason } from '../objects/leave-out.js';
import { podTemplateLabels, selectorOf } from '../objects/selectors.js';
import { isWorkload } from '../objects/workloads.js';
import { describeRef } from '../objects/describe.js';
import { forEachConcurrently } from '../concurrency.js';
import type { TypeResult } from '../store/backup-format.js';
import { FAILURE } from '../domain/failures.js';

/** Types listed at the same time by one backup (each with its namespaces' lists ahead, see listManyAhead). */
const TYPES_AT_ONCE = 4;

const MAX_EXAMPLES = 5;

/** Receives the objects of one type, in order; returns when they are safely handled. */
export interface ObjectSink<T> {
  add(type: TypeEntry, obj: RawObject): Promise<void>;
  /** Called once per type after its last object; what it returns is kept in the TypeResult. */
  finish(type: TypeEntry): Promise<T>;
}

/** The resolved selection: which types, in which order, from which namespaces. */
export interface SourceScan {
  version: string;
  namespaces: string[];
  /** Namespaced types (and cluster-scoped ones with clusterResources "include"), owners before what they own. */
  types: TypeEntry[];
  /** Every served type at its preferred version, for cluster-scoped objects found by reference. */
  served: ApiResourceInfo[];
  /** Types not excluded by the request (what "auto" may bring in). */
  allowed: Set<string>;
  leftOutTypes: LeftOutType[];
  /** "group/Kind" -> plural, for kinds served by a CustomResourceDefinition. */
  crdPlurals: Map<string, string>;
  /**
   * List namespaced types across all namespaces and keep the selected ones: when the selection is most of
   * the cluster, one paged list per type instead of one per type and namespace (thousands of requests).
   */
  wideLists?: boolean;
}

/** A selection of at least this share of the cluster's namespaces (and more than a few) is listed cluster-wide. */
const WIDE_LIST_SHARE = 0.5;
const WIDE_LIST_MIN_NAMESPACES = 4;

export interface SelectionInput extends SelectionFilters {
  source: string;
}

/** Owners before what they own, so that "owned by a copied controller" is known when the child is seen. */
const OWNER_ORDER: Record<string, number> = {
  'deployments.apps': 1, 'statefulsets.apps': 1, 'daemonsets.apps': 1, 'cronjobs.batch': 1,
  'replicasets.apps': 2, 'jobs.batch': 2,
  pods: 3,
};

export async function scanSource(source: Cluster, input: SelectionInput): Promise<SourceScan> {
  const [discovery, version, crdNames] = await Promise.all([
    discover(source.rest),
    source.rest.get<{ gitVersion: string }>('/version'),
    customResourceDefinitionNames(source),
  ]);
  const selection = selectResourceTypes(discovery.preferred, input.resources);
  if (selection.unknown.length) {
    throw ApplicationFailure.nonRetryable(
      `resources.include names types that cluster "${input.source}" does not serve: ${selection.unknown.join(', ')}. ` +
        `Write them as kubectl does ("deployments", "deployments.apps", "widgets.example.com"); 'kubectl api-resources' lists them.`,
      FAILURE.InvalidRequest,
    );
  }
  const allowed = new Set(selectResourceTypes(discovery.preferred, { include: ['*'], exclude: input.resources.exclude }).selected.map(resourceTypeName));
  const crdPlurals = new Map<string, string>();
  for (const r of discovery.preferred) if (r.group && crdNames.has(`${r.resource}.${r.group}`)) crdPlurals.set(`${r.group}/${r.kind}`, r.resource);

  const namespaceList: string[] = [];
  for await (const page of listPages<RawObject>(source.rest, '/api/v1/namespaces')) namespaceList.push(...page.map((n) => n.metadata!.name!));
  const namespaces = selectNamespaces(input, namespaceList);
  if (namespaces.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `no namespace of cluster "${input.source}" matches namespaces.include ${JSON.stringify(input.namespaces.include)}` +
        (input.namespaces.exclude.length ? ` minus exclude ${JSON.stringify(input.namespaces.exclude)}` : '') +
        `; the cluster has: ${namespaceList.slice(0, 30).join(', ')}${namespaceList.length > 30 ? ` and ${namespaceList.length - 30} more` : ''}`,
      FAILURE.InvalidRequest,
    );
  }
  const types = selection.selected
    .filter((r) => r.kind !== 'Namespace' && (r.namespaced || input.clusterResources === 'include'))
    .map((r) => typeEntry(r, crdPlurals))
    .sort((a, b) => (OWNER_ORDER[a.name] ?? 0) - (OWNER_ORDER[b.name] ?? 0) || Number(a.namespaced) - Number(b.namespaced));
  const wideLists = namespaces.length >= WIDE_LIST_MIN_NAMESPACES && namespaces.length >= WIDE_LIST_SHARE * namespaceList.length;
  return { version: version.gitVersion, namespaces, types, served: discovery.preferred, allowed, leftOutTypes: selection.leftOut, crdPlurals, wideLists };
}

export function typeEntry(r: ApiResourceInfo, crdPlurals: ReadonlyMap<string, string>): TypeEntry {
  const crd = crdPlurals.has(`${r.group}/${r.kind}`) ? `${r.resource}.${r.group}` : undefined;
  return {
    name: resourceTypeName(r), group: r.group, version: r.version, resource: r.resource, kind: r.kind, namespaced: r.namespaced,
    kindKey: crd ? `${r.kind}.${r.group}` : r.kind, count: 0, ...(crd ? { crd } : {}),
  };
}

/** Names of the source's CRDs, read as metadata only (their schemas can be large). */
async function customResourceDefinitionNames(source: Cluster): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const page of listPages<RawObject>(source.rest, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { metadataOnly: true })) {
      for (const crd of page) names.add(crd.metadata!.name!);
    }
  } catch (err) {
    if (!(err instanceof KubeApiError && (err.code === 403 || err.code === 404))) throw err;
  }
  return names;
}

/** Accumulates one type's result while its objects stream past. */
export class TypeCollector<T> {
  private readonly result: Omit<TypeResult<T>, 'sink'>;
  private readonly leftOut = new Map<string, LeftOutGroup>();

  constructor(readonly type: TypeEntry, private readonly scan: Pick<SourceScan, 'crdPlurals'>, private readonly covered: Set<string>) {
    this.result = { type, nodes: [], workloads: [], podLabels: [], selectors: [], covered: [], leftOut: [] };
  }

  /** Decides whether `obj` is copied; records why not, or what the plan and readiness need of it. */
  accept(obj: RawObject): boolean {
    obj.apiVersion = this.type.group ? `${this.type.group}/${this.type.version}` : this.type.version;
    obj.kind = this.type.kind;
    const m = obj.metadata ?? {};
    const reason = leaveOutReason(obj, { covered: this.covered });
    if (reason) {
      const group = this.leftOut.get(reason) ?? { reason, count: 0, examples: [] };
      group.count += 1;
      if (group.examples.length < MAX_EXAMPLES) group.examples.push(describeRef(this.type.kind, m.namespace, m.name ?? ''));
      this.leftOut.set(reason, group);
      if (reason.startsWith('owned by') && m.uid) this.remember(m.uid);
      return false;
    }
    delete m.managedFields;
    if (m.uid) this.remember(m.uid);
    const id = objectId(this.type.kindKey, m.namespace, m.name!);
    const pluralOf = (gk: string) => this.scan.crdPlurals.get(gk);
    this.result.nodes.push({ id, kind: this.type.kindKey, refs: referencesOf(obj as ObjectLike, pluralOf) });
    this.type.count += 1;
    if (m.namespace && isWorkload(obj, this.type)) {
      this.result.workloads.push({ id, type: this.type.name, namespace: m.namespace, name: m.name! });
      this.result.podLabels.push([id, podTemplateLabels(obj)]);
    }
    const selector = selectorOf(obj);
    if (m.namespace && selector) this.result.selectors.push({ id, kind: this.type.kind, namespace: m.namespace, selector });
    return true;
  }

  private remember(uid: string) {
    this.covered.add(uid);
    this.result.covered.push(uid);
  }

  done(sink: T): TypeResult<T> {
    return { ...this.result, leftOut: [...this.leftOut.values()], sink };
  }
}

/** Streams one type's objects (from every selected namespace, or cluster-wide) through `collector` into `sink`. */
export async function collectType<T>(
  source: Cluster,
  scan: SourceScan,
  collector: TypeCollector<T>,
  sink: ObjectSink<T>,
  labelSelector: string | undefined,
  onPage: () => void,
): Promise<TypeResult<T>> {
  const type = collector.type;
  if (type.namespaced && scan.wideLists) {
    // Objects of other namespaces pass through memory and are dropped here, never stored.
    const selected = new Set(scan.namespaces);
    try {
      for await (const page of listPages<RawObject>(source.rest, resourcePath(type), { labelSelector, limit: pageLimit(type) })) {
        for (const obj of page) if (selected.has(obj.metadata?.namespace ?? '') && collector.accept(obj)) await sink.add(type, obj);
        onPage();
      }
      return collector.done(await sink.finish(type));
    } catch (err) {
      // Credentials that may list only in some namespaces: list namespace by namespace (nothing was accepted
      // yet, a 403 comes with the first page).
      if (!(err instanceof KubeApiError && err.code === 403)) throw listFailure(err, source, type, undefined, labelSelector);
    }
  }
  const namespaces = type.namespaced ? scan.namespaces : [undefined];
  let namespace: string | undefined;
  try {
    const large = LARGE_OBJECT_TYPES.has(type.name);
    const pages = listManyAhead<RawObject>(source.rest, namespaces.map((ns) => resourcePath(type, ns)), {
      labelSelector, limit: pageLimit(type), window: large ? Math.min(4, source.concurrency) : source.concurrency,
    });
    for await (const page of pages) {
      namespace = namespaces[page.index];
      for (const obj of page.items) if (collector.accept(obj)) await sink.add(type, obj);
      onPage();
    }
  } catch (err) {
    if (err instanceof KubeApiError && err.listIndex !== undefined) namespace = namespaces[err.listIndex];
    throw listFailure(err, source, type, namespace, labelSelector);
  }
  return collector.done(await sink.finish(type));
}

/** A failed list as the operator should read it: access denied and a bad selector are final, the rest as it came. */
function listFailure(err: unknown, source: Cluster, type: TypeEntry, namespace: string | undefined, labelSelector: string | undefined): unknown {
  if (err instanceof KubeApiError && err.code === 403) {
    return ApplicationFailure.nonRetryable(
      `the credentials for cluster "${source.name}" may not list ${type.name}${namespace ? ` in namespace ${namespace}` : ''}. ` +
        `Grant "list" on it, or add ${type.name} to resources.exclude.`,
      FAILURE.AccessDenied,
    );
  }
  if (err instanceof KubeApiError && err.code === 400 && labelSelector) {
    return ApplicationFailure.nonRetryable(`labelSelector "${labelSelector}" is not valid: ${err.message}`, FAILURE.InvalidRequest);
  }
  return err;
}

/**
 * Cluster-scoped objects the selection needs (clusterResources "auto"): what the copied objects reference
 * (a PriorityClass, a StorageClass, the ClusterRole of a RoleBinding, the CRD of a custom resource), the
 * ClusterRoleBindings that grant the selected ServiceAccounts, and, in turn, what those reference.
 */
export async function neededClusterObjects(
  source: Cluster,
  scan: SourceScan,
  nodes: readonly PlanNode[],
): Promise<{ type: TypeEntry; obj: RawObject }[]> {
  const clusterTypes = new Map<string, ApiResourceInfo>();
  for (const r of scan.served) {
    if (r.namespaced || r.kind === 'Namespace' || !scan.allowed.has(resourceTypeName(r))) continue;
    clusterTypes.set(kindKeyOf(r.group ? `${r.group}/${r.version}` : r.version, r.kind, (gk) => scan.crdPlurals.get(gk)), r);
  }
  const have = new Set(nodes.map((n) => n.id));
  const queue: string[] = nodes.flatMap((n) => n.refs).filter(isClusterScopedId);
  const found: { type: TypeEntry; obj: RawObject }[] = [];

  const bindings = clusterTypes.get('ClusterRoleBinding');
  if (bindings) {
    const selected = new Set(scan.namespaces);
    for await (const page of listPages<RawObject & { subjects?: { kind?: string; namespace?: string }[] }>(source.rest, resourcePath(bindings))) {
      for (const b of page) {
        if ((b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.namespace && selected.has(s.namespace))) {
          queue.push(objectId('ClusterRoleBinding', undefined, b.metadata!.name!));
        }
      }
    }
  }
  const seen = new Set<string>();
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id) || have.has(id)) continue;
    seen.add(id);
    const [kindKey, , name] = id.split('/') as [string, string, string];
    const info = clusterTypes.get(kindKey);
    if (!info) continue;
    let obj: RawObject;
    try {
      obj = await source.rest.get<RawObject>(resourcePath(info, undefined, name));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) continue; // reported as a reference outside the backup
      throw err;
    }
    found.push({ type: typeEntry(info, scan.crdPlurals), obj });
    queue.push(...referencesOf({ ...obj, apiVersion: obj.apiVersion, kind: info.kind } as ObjectLike, (gk) => scan.crdPlurals.get(gk))
      .filter(isClusterScopedId));
  }
  return found;
}

export interface CollectHooks<T> {
  /** A type's result from an earlier attempt, to use instead of listing it again. */
  resume?(type: TypeEntry): Promise<TypeResult<T> | undefined>;
  /** Called after each type is collected (and after each resumed one). */
  finished?(result: TypeResult<T>, resumed: boolean): Promise<void>;
  /** Called after every page: a place to heartbeat. */
  page?(): void;
}

/**
 * Collects the whole selection: the selected Namespaces, every selected type, then (clusterResources
 * "auto") the cluster-scoped objects the selection needs. Returns one result per type that had objects
 * or left some out.
 */
/**
 * Types whose objects are often near the 1 MiB a ConfigMap or Secret holds (Helm keeps each release as
 * one): listed 50 at a time and few namespaces ahead, so a page stays tens of MiB, not hundreds.
 */
const LARGE_OBJECT_TYPES: ReadonlySet<string> = new Set(['secrets', 'configmaps']);
const pageLimit = (type: { name: string }) => (LARGE_OBJECT_TYPES.has(type.name) ? 50 : 500);

/** How often a type is listed again from its start when its continue token expires mid-list. */
const RELISTS = 3;

/**
 * A list whose continue token expired (410 Gone: etcd compacted the revision the list started at, as on a
 * busy cluster or after an API server restart) cannot go on from its page: the type is collected again
 * from its first page, with a fresh collector and sink, so it is never partial nor counted twice.
 */
export async function collectRelisting<T>(type: TypeEntry, collect: () => Promise<TypeResult<T>>): Promise<TypeResult<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await collect();
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 410) || attempt > RELISTS) throw err;
      type.count = 0;
    }
  }
}

export async function collectSelection<T>(
  source: Cluster,
  scan: SourceScan,
  filters: Pick<SelectionInput, 'clusterResources' | 'labelSelector'>,
  makeSink: () => ObjectSink<T>,
  hooks: CollectHooks<T> = {},
): Promise<TypeResult<T>[]> {
  const covered = new Set<string>();
  const results: TypeResult<T>[] = [];
  const collectObjects = async (type: TypeEntry, objs: RawObject[]) => {
    const collector = new TypeCollector<T>(type, scan, covered);
    const sink = makeSink();
    for (const obj of objs) if (collector.accept(obj)) await sink.add(type, obj);
    results.push(collector.done(await sink.finish(type)));
  };

  // Namespaces are copied whatever the type filters say: everything selected lives in them.
  const namespaceType = typeEntry({ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, verbs: [] }, scan.crdPlurals);
  await collectObjects(namespaceType, await Promise.all(scan.namespaces.map((n) => source.rest.get<RawObject>(`/api/v1/namespaces/${n}`))));

  // Several types at a time, in stages: a kind that a controller makes (ReplicaSets, Pods...) after the
  // kinds that make it, whose uids decide what is left out. Results keep the scan's order.
  const order = new Map(scan.types.map((t, i) => [t.name, i]));
  const byType: TypeResult<T>[] = [];
  const stages = [...new Set(scan.types.map((t) => collectionStage(t.kind)))].sort((a, b) => a - b);
  for (const stage of stages) {
    await forEachConcurrently(scan.types.filter((t) => collectionStage(t.kind) === stage), async (type) => {
      const earlier = await hooks.resume?.(type);
      if (earlier) {
        for (const uid of earlier.covered) covered.add(uid);
        Object.assign(type, earlier.type);
        byType[order.get(type.name)!] = earlier;
        await hooks.finished?.(earlier, true);
        return;
      }
      const result = await collectRelisting(type, () =>
        collectType(source, scan, new TypeCollector<T>(type, scan, covered), makeSink(), filters.labelSelector, () => hooks.page?.()));
      byType[order.get(type.name)!] = result;
      await hooks.finished?.(result, false);
    }, TYPES_AT_ONCE);
  }
  results.push(...byType.filter(Boolean));

  if (filters.clusterResources === 'auto') {
    const byType = new Map<string, { type: TypeEntry; objs: RawObject[] }>();
    for (const { type, obj } of await neededClusterObjects(source, scan, results.flatMap((r) => r.nodes))) {
      const entry = byType.get(type.name) ?? { type, objs: [] };
      entry.objs.push(obj);
      byType.set(type.name, entry);
    }
    for (const { type, objs } of byType.values()) await collectObjects(type, objs);
  }
  const kept = results.filter((r) => r.type.count > 0 || r.leftOut.length > 0);
  if (!kept.some((r) => r.type.name !== 'namespaces' && r.type.count > 0)) throw nothingSelected(source.name, scan, filters, kept);
  return kept;
}

/**
 * A selection of nothing but the Namespaces themselves is a mistake in the request (a label selector or
 * type filter that matches nothing), not a migration: it would only create empty namespaces in the target.
 */
function nothingSelected(
  cluster: string,
  scan: Pick<SourceScan, 'namespaces'>,
  filters: Pick<SelectionInput, 'labelSelector'>,
  results: readonly TypeResult<unknown>[],
): ApplicationFailure {
  const leftOut = results.flatMap((r) => r.leftOut);
  const skipped = leftOut.reduce((n, g) => n + g.count, 0);
  return ApplicationFailure.nonRetryable(
    `nothing selected: namespace(s) ${scan.namespaces.join(', ')} of cluster "${cluster}" hold no object of the selected types` +
      (filters.labelSelector ? ` matching labelSelector "${filters.labelSelector}"` : '') +
      (skipped ? ` (${skipped} left out on purpose: ${[...new Set(leftOut.map((g) => g.reason))].slice(0, 3).join('; ')})` : '') +
      '; a migration would only create empty namespaces. Check namespaces, resources and labelSelector.',
    FAILURE.InvalidRequest,
  );
}
