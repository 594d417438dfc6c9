// Which namespaces a request selects: its include/exclude patterns ("*" wildcards) matched against the
// namespaces the source has, with the clusters' own system namespaces kept out unless asked for, and a
// namespace mapping that must stay one-to-one over what is selected.
import type { NamespaceMapping } from './namespace-mapping.js';

/**
 * Namespaces of the cluster itself (and of kubeferry's own identities, deploy/rbac): copying them moves
 * a cluster's bootstrap tokens, kube-proxy and CoreDNS config, or kubeferry's own grants into another.
 */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'kubeferry-system'];

export const isSystemNamespace = (ns: string) => SYSTEM_NAMESPACES.includes(ns);

/**
 * Whether a name matches a pattern in which `*` stands for any run of characters. A greedy matcher that
 * backtracks only to the last `*`: at most pattern × name steps, however many stars (a RegExp of `.*`s
 * backtracks exponentially: 11 stars took 15 s per namespace).
 */
export function globMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export interface NamespaceFilter {
  include: readonly string[];
  exclude: readonly string[];
}

/**
 * The namespaces a request selects among those that exist, sorted. A system namespace is selected only
 * when `allowSystemNamespaces` is set: a wildcard never reaches it otherwise (and the request schema
 * refuses one named outright without the flag).
 */
export function selectNamespaces(request: { namespaces: NamespaceFilter; allowSystemNamespaces?: boolean }, existing: readonly string[]): string[] {
  const { include, exclude } = request.namespaces;
  return existing
    .filter((ns) => request.allowSystemNamespaces || !isSystemNamespace(ns))
    .filter((ns) => include.some((p) => globMatch(p, ns)))
    .filter((ns) => !exclude.some((p) => globMatch(p, ns)))
    .sort();
}

/**
 * Target namespaces that two selected source namespaces would land in ("shop" mapped to "web", while
 * "web" is selected and not mapped away), each described for people; empty when the mapping is one-to-one.
 */
export function mappingCollisions(mapping: NamespaceMapping, selected: readonly string[]): string[] {
  const landing = new Map<string, string[]>();
  for (const ns of selected) {
    const to = mapping[ns] ?? ns;
    landing.set(to, [...(landing.get(to) ?? []), ns]);
  }
  return [...landing].filter(([, from]) => from.length > 1)
    .map(([to, from]) => `${from.map((f) => `"${f}"`).join(' and ')} would both land in "${to}"`);
}

/** Why a mapping is not one-to-one over some namespaces (`over` says which, for people), or undefined. */
export function oneToOneProblem(mapping: NamespaceMapping, namespaces: readonly string[], over: string): string | undefined {
  const collisions = mappingCollisions(mapping, namespaces);
  return collisions.length
    ? `namespaces.mapping is not one-to-one over ${over}: ${collisions.join('; ')}. Map each of them to a namespace of its own.`
    : undefined;
}
