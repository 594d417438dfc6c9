// Plan: a dry run of a migration. The selection is collected from the source exactly as a backup would
// collect it, but nothing is written anywhere: each object is only looked up in the target (where the
// namespace mapping would put it) to find conflicts, and the types are checked against what the target
// serves. Returns the waves, what is left out and why, and the conflicts.
import { heartbeatOrStop } from './cancellation.js';
import { planObjectWaves, waveSummaries } from '../domain/dependency-graph.js';
import { buildPlanGraph } from '../domain/plan-graph.js';
import type { PlanInput, PlanReport } from './contract.js';
import type { RawObject, TypeEntry } from '../store/backup-format.js';
import { linkSelectors } from '../objects/selectors.js';
import { mergeLeftOut } from '../objects/leave-out.js';
import { makesPods } from '../domain/pod-templates.js';
import { byWorkload, countDryRun, dryRunPods } from './admission.js';
import type { Cluster, ClusterRegistry } from '../kube/clusters.js';
import { collectSelection, scanSource, type ObjectSink } from './collect.js';
import { discover } from '../kube/discovery.js';
import { existsIn } from './restore.js';
import { describe } from '../objects/describe.js';
import { notServed } from '../objects/served-types.js';
import { sanitize } from '../objects/sanitize/index.js';
import { ApplicationFailure } from '@temporalio/activity';
import { oneToOneProblem } from '../domain/namespace-selection.js';
import { FAILURE } from '../domain/failures.js';
import { mapNamespace } from '../domain/namespace-mapping.js';
import type { WorkerPolicy } from '../config/worker-policy.js';
import { enforcePolicy } from './policy.js';

const LOOKUPS_IN_FLIGHT = 16;
const EXAMPLES = 20;

/**
 * Looks each object up in the target, a few at a time, counting the ones that already exist. A lookup
 * that fails is kept and thrown by the next add or by finish: never an unhandled rejection (which would
 * end the worker) nor a conflict silently not counted.
 */
export class ConflictSink implements ObjectSink<void> {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly lookup: (type: TypeEntry, landing: RawObject) => Promise<boolean>,
    private readonly input: PlanInput,
    private readonly found: { count: number; examples: string[] },
    private readonly admission?: (source: RawObject, landing: RawObject) => Promise<void>,
  ) {}

  async add(type: TypeEntry, obj: RawObject): Promise<void> {
    const landing = sanitize(obj, { migrationId: '', namespaceMapping: this.input.namespaceMapping });
    const p: Promise<void> = Promise.all([
      this.lookup(type, landing).then((exists) => {
        if (!exists) return;
        this.found.count += 1;
        if (this.found.examples.length < EXAMPLES) this.found.examples.push(describe(landing));
      }),
      this.admission?.(obj, landing),
    ]).then(() => undefined, (error: unknown) => {
      this.failure ??= { error };
    }).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    if (this.inFlight.size >= LOOKUPS_IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  async finish(): Promise<void> {
    await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

export async function planMigration(clusters: ClusterRegistry, input: PlanInput, policy?: WorkerPolicy): Promise<PlanReport> {
  const source = clusters.get(input.source);
  const target = clusters.get(input.target);
  const [scan, targetDiscovery] = await Promise.all([scanSource(source, input), discover(target.rest)]);
  enforcePolicy(policy, { source: input.source, target: input.target, namespaces: [...scan.namespaces, ...scan.namespaces.map((ns) => mapNamespace(input.namespaceMapping, ns))] });
  const notOneToOne = oneToOneProblem(input.namespaceMapping, scan.namespaces, 'the selected namespaces');
  if (notOneToOne) throw ApplicationFailure.nonRetryable(notOneToOne, FAILURE.InvalidRequest);
  const conflicts = { count: 0, examples: [] as string[] };
  // A type the target does not serve yet cannot have conflicts there (decided once per type).
  const servedByTarget = new Map<string, boolean>();
  const lookup = (type: TypeEntry, landing: RawObject) => {
    if (!servedByTarget.has(type.name)) servedByTarget.set(type.name, notServed([type], targetDiscovery.served, []).length === 0);
    return servedByTarget.get(type.name) ? existsIn(target, type, landing) : Promise.resolve(false);
  };
  const admission = input.admission === 'off' ? undefined : admissionOfExisting(target);
  const results = await collectSelection(source, scan, input, () => new ConflictSink(lookup, input, conflicts, admission?.check), { page: () => heartbeatOrStop() });

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
    ...(admission ? { admission: admission.report() } : {}),
  };
}

/**
 * The admission preflight of a plan: only namespaces that already exist in the target have their quotas,
 * LimitRanges and Pod Security labels there to judge the pods; the others are counted as not checked.
 */
function admissionOfExisting(target: Cluster) {
  const namespaces = new Map<string, Promise<boolean>>();
  const exists = (ns: string) => {
    if (!namespaces.has(ns)) namespaces.set(ns, existsIn(target, { group: '', version: 'v1', resource: 'namespaces', namespaced: false }, { metadata: { name: ns } }));
    return namespaces.get(ns)!;
  };
  const report: PlanReport['admission'] = { checked: 0, refused: 0, refusals: [], namespacesChecked: [], notChecked: 0 };
  const checked = new Set<string>();
  return {
    async check(source: RawObject, landing: RawObject): Promise<void> {
      const ns = landing.metadata?.namespace;
      if (!ns || !makesPods(landing)) return;
      if (!(await exists(ns))) {
        report.notChecked += 1;
        return;
      }
      checked.add(ns);
      countDryRun(report, describe(source), await dryRunPods(target, landing));
    },
    report(): PlanReport['admission'] {
      return { ...report, namespacesChecked: [...checked].sort(), refusals: [...report.refusals].sort(byWorkload) };
    },
  };
}
