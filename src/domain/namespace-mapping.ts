// Namespace mapping ("old:new"): objects of namespace `old` in the source are restored into `new`.

export type NamespaceMapping = Readonly<Record<string, string>>;

/** The target namespace of a source namespace. */
export const mapNamespace = (mapping: NamespaceMapping, namespace: string): string => mapping[namespace] ?? namespace;

/** "namespace/name" as it is called in the target. */
export const mapRef = (mapping: NamespaceMapping, ref: string): string => {
  const slash = ref.indexOf('/');
  return slash < 0 ? ref : `${mapNamespace(mapping, ref.slice(0, slash))}${ref.slice(slash)}`;
};

/** Parses ["old:new", ...]; returns the mapping or the problems found, each naming its entry. */
export function parseNamespaceMapping(entries: readonly string[]): { mapping: Record<string, string>; problems: string[] } {
  const mapping: Record<string, string> = {};
  const problems: string[] = [];
  const targets = new Map<string, string>();
  entries.forEach((entry, i) => {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(entry);
    if (!m) return problems.push(`${i}: "${entry}" is not "old:new" with two namespace names`);
    const [, from, , to] = m as unknown as [string, string, string, string];
    if (mapping[from] !== undefined) problems.push(`${i}: namespace "${from}" is mapped twice`);
    if (targets.has(to)) problems.push(`${i}: "${from}" and "${targets.get(to)}" would both land in "${to}"`);
    mapping[from] = to;
    targets.set(to, from);
  });
  return { mapping, problems };
}
