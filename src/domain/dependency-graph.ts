// Restore plan from the objects themselves: each object goes in the earliest wave that is no earlier
// than its kind's place in the built-in order (ordering.ts) and later than everything it references.
// Reference cycles are broken deterministically and reported; references to objects outside the plan
// are reported too (they must already exist in the target, or the object may not work).
import { kindRank, type Wave } from './ordering.js';

export interface PlanNode {
  id: string;
  kind: string;
  /** Ids of the objects this one needs first. */
  refs: readonly string[];
}

export interface Edge {
  from: string;
  to: string;
}

export interface ObjectPlan {
  /** Object ids per wave, in restore order; each wave sorted. */
  waves: string[][];
  /** References dropped to break cycles: `from` is created without waiting for `to`. */
  brokenCycles: Edge[];
  /** References to objects that are not in the plan. */
  outside: Edge[];
}

/** Order in which a cycle is walked: by kind rank, then id. */
const cycleOrder = (a: PlanNode, b: PlanNode) => kindRank(a.kind) - kindRank(b.kind) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function planObjectWaves(nodes: readonly PlanNode[]): ObjectPlan {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const outside: Edge[] = [];
  const deps = new Map<string, Set<string>>();
  for (const n of nodes) {
    const inside = new Set<string>();
    for (const to of n.refs) {
      if (to === n.id) continue;
      if (byId.has(to)) inside.add(to);
      else outside.push({ from: n.id, to });
    }
    deps.set(n.id, inside);
  }

  // Inside each cycle, a depth-first walk in a fixed order drops only the references that close a loop
  // (back edges): the fewest this walk can drop, and the same ones for the same objects in any input order.
  const brokenCycles: Edge[] = [];
  for (const component of stronglyConnected(nodes, deps)) {
    if (component.length < 2) continue;
    const members = new Set(component.map((n) => n.id));
    const sortedIds = (ids: Iterable<string>) => [...ids].filter((id) => members.has(id)).map((id) => byId.get(id)!).sort(cycleOrder).map((n) => n.id);
    const state = new Map<string, 'open' | 'done'>();
    for (const root of sortedIds(members)) {
      if (state.has(root)) continue;
      const walk: { id: string; children: string[]; i: number }[] = [{ id: root, children: sortedIds(deps.get(root)!), i: 0 }];
      state.set(root, 'open');
      while (walk.length) {
        const frame = walk[walk.length - 1]!;
        if (frame.i >= frame.children.length) {
          state.set(frame.id, 'done');
          walk.pop();
          continue;
        }
        const child = frame.children[frame.i++]!;
        if (state.get(child) === 'open') {
          deps.get(frame.id)!.delete(child);
          brokenCycles.push({ from: frame.id, to: child });
        } else if (!state.has(child)) {
          state.set(child, 'open');
          walk.push({ id: child, children: sortedIds(deps.get(child)!), i: 0 });
        }
      }
    }
  }

  // Base level of each kind: its place among the distinct ranks present.
  const ranks = [...new Set(nodes.map((n) => kindRank(n.kind)))].sort((a, b) => a - b);
  const baseLevel = new Map(ranks.map((r, i) => [r, i]));
  const level = new Map<string, number>();
  const visiting = new Set<string>();
  const levelOf = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new Error(`internal: cycle left at ${id}`);
    visiting.add(id);
    const n = byId.get(id)!;
    let l = baseLevel.get(kindRank(n.kind))!;
    for (const d of deps.get(id)!) l = Math.max(l, levelOf(d) + 1);
    visiting.delete(id);
    level.set(id, l);
    return l;
  };
  const waves: string[][] = [];
  for (const n of nodes) (waves[levelOf(n.id)] ??= []).push(n.id);
  return {
    waves: waves.filter((w) => w && w.length).map((w) => w.sort()),
    brokenCycles: brokenCycles.sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1)),
    outside: outside.sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1)),
  };
}

/** The waves as the workflow sees them: index, kinds present and object count. */
export function waveSummaries(plan: ObjectPlan): Wave[] {
  return plan.waves.map((ids, index) => ({
    index,
    kinds: [...new Set(ids.map((id) => id.slice(0, id.indexOf('/'))))].sort(),
    count: ids.length,
  }));
}

/** Tarjan's strongly connected components, iteratively (deep reference chains must not blow the stack). */
function stronglyConnected(nodes: readonly PlanNode[], deps: ReadonlyMap<string, Set<string>>): PlanNode[][] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: PlanNode[][] = [];
  let next = 0;
  for (const start of nodes) {
    if (index.has(start.id)) continue;
    const work: { id: string; children: string[]; i: number }[] = [];
    const enter = (id: string) => {
      index.set(id, next);
      low.set(id, next);
      next += 1;
      stack.push(id);
      onStack.add(id);
      work.push({ id, children: [...deps.get(id)!], i: 0 });
    };
    enter(start.id);
    while (work.length) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) enter(child);
        else if (onStack.has(child)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: PlanNode[] = [];
        let id: string;
        do {
          id = stack.pop()!;
          onStack.delete(id);
          component.push(byId.get(id)!);
        } while (id !== frame.id);
        components.push(component);
      }
    }
  }
  return components;
}
