// Plan: a dry run of a migration. The selection is collected from the source exactly as a backup would
// collect it, but nothing is written anywhere: each object is only looked up in the target (where the
// namespace mapping would put it) to find conflicts, and the types are checked against what the target
// serves. Returns the waves, what is left out and why, and the conflicts.
import { heartbeat } from '@temporalio/activity';
import { planObjectWaves, waveSummaries } from '../domain/dependency-graph.js';
import { buildPlanGraph } from '../domain/plan-graph.js';
import type { PlanInput, PlanReport } from './contract.js';
import type { RawObject, TypeEntry } from './backup-format.js';
import { linkSelectors, mergeLeftOut } from './backup.js';
import type { ClusterRegistry } from './clusters.js';
import { collectSelection, scanSource, type ObjectSink } from './collect.js';
import { discover } from './discovery.js';
import { describe, existsIn, notServed, sanitizeRaw } from './restore.js';

const LOOKUPS_IN_FLIGHT = 16;
const EXAMPLES = 20;

/** Looks each object up in the target, a few at a time, counting the ones that already exist. */
class ConflictSink implements ObjectSink<void> {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly lookup: (type: TypeEntry, landing: RawObject) => Promise<boolean>,
    private readonly input: PlanInput,
    private readonly found: { count: number; examples: string[] },
  ) {}

  async add(type: TypeEntry, obj: RawObject): Promise<void> {
    const landing = sanitizeRaw(obj, { migrationId: '', namespaceMapping: this.input.namespaceMapping });
    const p: Promise<void> = this.lookup(type, landing).then((exists) => {
      if (!exists) return;
      this.found.count += 1;
      if (this.found.examples.length < EXAMPLES) this.found.examples.push(describe(landing));
    }).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    if (this.inFlight.size >= LOOKUPS_IN_FLIGHT) await Promise.race(this.inFlight);
  }

  async finish(): Promise<void> {
    await Promise.all(this.inFlight);
  }
}

export async function planMigration(clusters: ClusterRegistry, input: PlanInput): Promise<PlanReport> {
  const source = clusters.get(input.source);
  const target = clusters.get(input.target);
  const [scan, targetDiscovery] = await Promise.all([scanSource(source, input), discover(target.rest)]);
  const conflicts = { count: 0, examples: [] as string[] };
  // A type the target does not serve yet cannot have conflicts there (decided once per type).
  const servedByTarget = new Map<string, boolean>();
  const lookup = (type: TypeEntry, landing: RawObject) => {
    if (!servedByTarget.has(type.name)) servedByTarget.set(type.name, notServed([type], targetDiscovery.served, []).length === 0);
    return servedByTarget.get(type.name) ? existsIn(target, type, landing) : Promise.resolve(false);
  };
  const results = await collectSelection(source, scan, input, () => new ConflictSink(lookup, input, conflicts), { page: () => heartbeat() });

  const nodes = linkSelectors(results);
  const plan = planObjectWaves(nodes);
  const types = results.filter((r) => r.type.count > 0).map((r) => r.type);
  return {
    sourceVersion: scan.version,
    namespaces: scan.namespaces,
    objects: types.reduce((sum, t) => sum + t.count, 0),
    kinds: types.map((t) => ({ kind: t.kindKey, count: t.count })),
    waves: waveSummaries(plan),
    waveExamples: plan.waves.map((ids) => ids.slice(0, 5)),
    brokenCycles: plan.brokenCycles.slice(0, EXAMPLES),
    outside: plan.outside.length,
    workloads: results.reduce((sum, r) => sum + r.workloads.length, 0),
    leftOut: mergeLeftOut(results.flatMap((r) => r.leftOut)),
    leftOutTypes: scan.leftOutTypes,
    notServedByTarget: notServed(types, targetDiscovery.served, plan.waves.flat()),
    conflicts: conflicts.count,
    conflictExamples: conflicts.examples,
    graph: buildPlanGraph(nodes, plan),
  };
}
