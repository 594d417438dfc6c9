// The restore plan as a picture: objects (or, for a big plan, kinds per namespace) grouped by wave, an
// arrow from what must exist first to what needs it. Rendered as Mermaid text and as Graphviz DOT.
// Bounded whatever the plan's size, because it travels in the plan task's result.
import type { ObjectPlan, PlanNode } from './dependency-graph.js';

export interface PlanGraphNode {
  id: string;
  label: string;
  wave: number;
  /** Objects this node stands for (1 at object level). */
  count: number;
}

export interface PlanGraph {
  /** `object`: one node per object; `kind`: one per kind and namespace; `wave`: one per kind per wave. */
  level: 'object' | 'kind' | 'wave';
  nodes: PlanGraphNode[];
  /** `from` must exist before `to`; `broken` marks a reference dropped to break a cycle. */
  edges: { from: string; to: string; broken?: boolean }[];
}

export const MAX_GRAPH_NODES = 80;

const parts = (id: string) => {
  const [kind = '', namespace = '', ...name] = id.split('/');
  return { kind, namespace, name: name.join('/') };
};

/**
 * Builds the picture at the finest level that stays within `maxNodes`: objects, then kinds per
 * namespace, then kinds per wave (always small: at most kinds x waves).
 */
export function buildPlanGraph(nodes: readonly PlanNode[], plan: ObjectPlan, maxNodes = MAX_GRAPH_NODES): PlanGraph {
  const waveOf = new Map<string, number>();
  plan.waves.forEach((ids, w) => ids.forEach((id) => waveOf.set(id, w)));
  const broken = new Set(plan.brokenCycles.map((e) => `${e.from}\n${e.to}`));
  const levels: { level: PlanGraph['level']; key: (id: string) => string; label: (id: string, count: number) => string }[] = [
    { level: 'object', key: (id) => id, label: (id) => { const p = parts(id); return `${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}`; } },
    { level: 'kind', key: (id) => { const p = parts(id); return `${p.kind}/${p.namespace}`; }, label: (id, n) => { const p = parts(id); return `${n} ${p.kind}${p.namespace ? ` in ${p.namespace}` : ''}`; } },
    { level: 'wave', key: (id) => `${parts(id).kind}@${waveOf.get(id) ?? 0}`, label: (id, n) => `${n} ${parts(id).kind}` },
  ];
  const planned = nodes.filter((n) => waveOf.has(n.id));
  for (const [i, l] of levels.entries()) {
    const groups = new Map<string, { first: string; count: number; wave: number }>();
    for (const n of planned) {
      const key = l.key(n.id);
      const wave = waveOf.get(n.id)!;
      const g = groups.get(key);
      if (g) {
        g.count += 1;
        g.wave = Math.min(g.wave, wave);
      } else groups.set(key, { first: n.id, count: 1, wave });
    }
    if (groups.size > maxNodes && i < levels.length - 1) continue;
    const edges = new Map<string, PlanGraph['edges'][number]>();
    for (const n of planned) {
      for (const ref of n.refs) {
        if (!waveOf.has(ref)) continue;
        const from = l.key(ref);
        const to = l.key(n.id);
        if (from === to) continue;
        const k = `${from}\n${to}`;
        const isBroken = broken.has(`${n.id}\n${ref}`);
        const e = edges.get(k);
        if (!e) edges.set(k, { from, to, ...(isBroken ? { broken: true } : {}) });
        else if (!isBroken) delete e.broken;
      }
    }
    return {
      level: l.level,
      nodes: [...groups].map(([id, g]) => ({ id, label: l.label(g.first, g.count), wave: g.wave, count: g.count }))
        .sort((a, b) => a.wave - b.wave || (a.id < b.id ? -1 : 1)),
      edges: [...edges.values()].sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1)),
    };
  }
  throw new Error('unreachable: the last level always returns');
}

const byWave = (g: PlanGraph) => {
  const waves = new Map<number, PlanGraphNode[]>();
  for (const n of g.nodes) waves.set(n.wave, [...(waves.get(n.wave) ?? []), n]);
  return [...waves].sort((a, b) => a[0] - b[0]);
};

/** Mermaid flowchart, one subgraph per wave. Node ids are positional: object ids contain `/` and `.`. */
export function toMermaid(g: PlanGraph): string {
  const ids = new Map(g.nodes.map((n, i) => [n.id, `n${i}`]));
  const text = (s: string) => s.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const [wave, nodes] of byWave(g)) {
    lines.push(`  subgraph wave${wave + 1}["wave ${wave + 1}"]`);
    for (const n of nodes) lines.push(`    ${ids.get(n.id)}["${text(n.label)}"]`);
    lines.push('  end');
  }
  for (const e of g.edges) lines.push(`  ${ids.get(e.from)} ${e.broken ? '-.->' : '-->'} ${ids.get(e.to)}`);
  return `${lines.join('\n')}\n`;
}

/** Graphviz DOT of the same picture (`dot -Tsvg` renders it). */
export function toDot(g: PlanGraph): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['digraph restore_plan {', '  rankdir=LR;', '  node [shape=box, style="rounded,filled", fillcolor="#eef4ff", fontname="Helvetica"];'];
  for (const [wave, nodes] of byWave(g)) {
    lines.push(`  subgraph cluster_wave${wave + 1} {`, `    label=${q(`wave ${wave + 1}`)}; style=dashed;`);
    for (const n of nodes) lines.push(`    ${q(n.id)} [label=${q(n.label)}];`);
    lines.push('  }');
  }
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.broken ? ' [style=dashed, label="cycle broken"]' : ''};`);
  // Invisible edges between consecutive waves lay the waves out left to right in restore order.
  const firsts = byWave(g).map(([, nodes]) => nodes[0]!.id);
  for (let i = 1; i < firsts.length; i++) lines.push(`  ${q(firsts[i - 1]!)} -> ${q(firsts[i]!)} [style=invis];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
