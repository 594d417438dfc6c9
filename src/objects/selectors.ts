// Label selectors: how Services and PodDisruptionBudgets find the pods of workloads, matched on what a
// backup records (pod template labels and equality selectors), and written for the API's list calls.
import type { PlanNode } from '../domain/dependency-graph.js';
import type { RawObject } from './raw-object.js';

/** A label selector as objects write it. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** An equality selector of a Service or PodDisruptionBudget, as a backup records it. */
export interface RecordedSelector {
  id: string;
  kind: string;
  namespace: string;
  selector: Record<string, string>;
}

/** What a backup learned of one type, as far as selectors go. */
export interface SelectorFacts {
  nodes: PlanNode[];
  /** Pod template labels of workloads, by workload id ("Kind/namespace/name"). */
  podLabels: [string, Record<string, string>][];
  selectors: RecordedSelector[];
}

/** Whether every pair of an equality selector is among the labels. */
export const matchesLabels = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** A label selector as the API takes it (`a=b,c in (d,e),!f`); undefined when it selects everything. */
export function selectorString(s: LabelSelector | undefined): string | undefined {
  if (!s) return undefined;
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : undefined;
}

/** The labels a workload's pod template gives its pods. */
export function podTemplateLabels(o: RawObject): Record<string, string> {
  const spec = o.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  return spec?.template?.metadata?.labels ?? {};
}

/**
 * The equality selector of a Service, or the matchLabels of a PodDisruptionBudget; undefined for other
 * kinds and for an empty selector (a Service without one selects no pods; its endpoints are managed by hand).
 */
export function selectorOf(o: RawObject): Record<string, string> | undefined {
  const spec = o.spec as { selector?: Record<string, unknown> } | undefined;
  if (o.kind === 'Service') {
    const s = spec?.selector as Record<string, string> | undefined;
    return s && Object.keys(s).length ? s : undefined;
  }
  if (o.kind === 'PodDisruptionBudget') {
    const s = (spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
    return s && Object.keys(s).length ? s : undefined;
  }
  return undefined;
}

/** PodDisruptionBudgets wait for the workloads they select (the plan then restores them after). */
export function linkSelectors(results: readonly SelectorFacts[]): PlanNode[] {
  const podLabels = byNamespace(results.flatMap((r) => r.podLabels), ([id]) => id.split('/')[1]!);
  const extra = new Map<string, string[]>();
  for (const s of results.flatMap((r) => r.selectors)) {
    if (s.kind !== 'PodDisruptionBudget') continue;
    extra.set(s.id, (podLabels.get(s.namespace) ?? []).filter(([, labels]) => matchesLabels(s.selector, labels)).map(([id]) => id));
  }
  return results.flatMap((r) => r.nodes).map((n) => (extra.has(n.id) ? { ...n, refs: [...n.refs, ...extra.get(n.id)!] } : n));
}

/** For each workload, the Services of its namespace whose selector matches its pod labels. */
export function servicesOfWorkloads(results: readonly Pick<SelectorFacts, 'podLabels' | 'selectors'>[]): Record<string, string[]> {
  const services = byNamespace(results.flatMap((r) => r.selectors).filter((s) => s.kind === 'Service'), (s) => s.namespace);
  return Object.fromEntries(results.flatMap((r) => r.podLabels).map(([id, labels]) => [
    id,
    (services.get(id.split('/')[1]!) ?? []).filter((s) => matchesLabels(s.selector, labels)).map((s) => s.id),
  ]));
}

/** Selectors only match within a namespace: grouping by it keeps matching linear in the usual case. */
function byNamespace<T>(items: readonly T[], namespaceOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const ns = namespaceOf(item);
    const group = groups.get(ns);
    if (group) group.push(item);
    else groups.set(ns, [item]);
  }
  return groups;
}
