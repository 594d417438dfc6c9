// Whether a cluster serves the types a backup holds: the rule a restore preflight and a plan apply to
// the target's discovery.

/** Discovery's key of a served type: "group/version/Kind" ("" group for the core API). */
export const gvkKey = (group: string, version: string, kind: string) => `${group}/${version}/${kind}`;

/** What this rule needs to know of a backed-up type. */
export interface BackedUpType {
  name: string;
  group: string;
  version: string;
  kind: string;
  /** Served by this CustomResourceDefinition (by name) in the source. */
  crd?: string;
}

/**
 * Types that the target serves neither itself nor through a CRD among `ids` (plan ids, the CRDs the
 * backup brings), described for people; a version the target serves instead is named.
 */
export function notServed(types: readonly BackedUpType[], served: ReadonlySet<string>, ids: readonly string[]): string[] {
  const crds = new Set(ids.filter((id) => id.startsWith('CustomResourceDefinition//')).map((id) => id.split('/')[2]));
  return types
    .filter((t) => !served.has(gvkKey(t.group, t.version, t.kind)) && !(t.crd && crds.has(t.crd)))
    .map((t) => {
      const other = [...served].filter((k) => k.startsWith(`${t.group}/`) && k.endsWith(`/${t.kind}`)).map((k) => k.split('/')[1]);
      return `${t.name} (${t.group ? `${t.group}/` : ''}${t.version} ${t.kind}${other.length ? `; the target serves it only at ${other.join(', ')}` : ''})`;
    });
}
