// Builds a migration request from, in rising precedence: the config file's defaults, a request file
// (YAML or JSON), and flags. Route names resolve against the config's routes. Pure: the caller reads
// the files.
import type { CliConfig } from '../config/cli-config.js';
import { InvalidRequestError, type MigrationRequestInput } from '../domain/request.js';

export interface RequestFlags {
  task?: string;
  source?: string;
  target?: string;
  includeNamespaces?: string[];
  excludeNamespaces?: string[];
  namespaceMappings?: string[];
  includeResources?: string[];
  excludeResources?: string[];
  clusterResources?: string;
  selector?: string;
  bucket?: string;
  prefix?: string;
  backup?: string;
  routes?: string[];
  steps?: string;
  approve?: number[];
  stepInterval?: string;
  cutoverAfter?: string;
  existingObjects?: string;
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; anything else (arrays included) is replaced by the later value. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

const list = (values: string[] | undefined) => values?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);

/** `--steps 10,25,50,100 --approve 3`: steps as weights; the numbered ones wait for an operator's approve. */
export function stepsFrom(steps: string, approve: number[] = []): (number | { weight: number; approval: true })[] {
  const weights = steps.split(',').map((w) => w.trim()).filter(Boolean).map((w) => {
    const n = Number(w.replace(/%$/, ''));
    if (!Number.isInteger(n)) throw new InvalidRequestError([`--steps: "${w}" is not a whole percentage (e.g. --steps 10,25,50,100)`]);
    return n;
  });
  for (const a of approve) {
    if (!Number.isInteger(a) || a < 1 || a > weights.length) throw new InvalidRequestError([`--approve: step ${a} does not exist (steps 1 to ${weights.length})`]);
  }
  return weights.map((weight, i) => (approve.includes(i + 1) ? { weight, approval: true as const } : weight));
}

export function buildRequest(config: CliConfig, file: unknown, flags: RequestFlags): MigrationRequestInput {
  if (file !== undefined && !isRecord(file)) throw new InvalidRequestError(['(request file): must be a mapping of request fields']);
  const fromFlags: Json = {
    task: flags.task,
    source: flags.source ? { cluster: flags.source } : undefined,
    target: flags.target ? { cluster: flags.target } : undefined,
    backupId: flags.backup,
    labelSelector: flags.selector,
    existingObjects: flags.existingObjects,
    clusterResources: flags.clusterResources,
    namespaces: dropUndefined({ include: list(flags.includeNamespaces), exclude: list(flags.excludeNamespaces), mapping: list(flags.namespaceMappings) }),
    resources: dropUndefined({ include: list(flags.includeResources), exclude: list(flags.excludeResources) }),
    storage: dropUndefined({ bucket: flags.bucket, prefix: flags.prefix }),
    traffic: dropUndefined({
      steps: flags.steps ? stepsFrom(flags.steps, flags.approve) : undefined,
      stepInterval: flags.stepInterval,
      cutoverAfter: flags.cutoverAfter,
    }),
  };
  const storageDefaults = dropUndefined({ bucket: config.storage.bucket, prefix: config.storage.prefix });
  const merged = deepMerge(deepMerge(deepMerge({ storage: storageDefaults }, config.defaults), file ?? {}), fromFlags);
  for (const key of ['namespaces', 'resources', 'storage', 'traffic']) if (isRecord(merged[key]) && Object.keys(merged[key] as Json).length === 0) delete merged[key];

  const named = [...(Array.isArray(merged.routes) ? merged.routes : []), ...(list(flags.routes) ?? [])];
  const routes = named.map((r: unknown) => (typeof r === 'string' ? routeByName(config, r) : r));
  if (routes.length) merged.routes = routes;
  else delete merged.routes;

  const problems: string[] = [];
  if (config.clusters.length > 0) {
    for (const side of ['source', 'target'] as const) {
      const cluster = (merged[side] as { cluster?: unknown } | undefined)?.cluster;
      if (typeof cluster === 'string' && !config.clusters.includes(cluster)) {
        problems.push(`${side}.cluster: unknown cluster "${cluster}"; ${config.file} names ${config.clusters.join(', ')}`);
      }
    }
  }
  if (problems.length) throw new InvalidRequestError(problems);
  return merged as unknown as MigrationRequestInput;
}

function routeByName(config: CliConfig, name: string): Json {
  const route = config.routes[name];
  if (!route) {
    const known = Object.keys(config.routes);
    throw new InvalidRequestError([`routes: "${name}" is not defined under routes: in ${config.file ?? 'the config file (none found)'}` +
      `${known.length ? `; defined: ${known.join(', ')}` : ''}`]);
  }
  return route;
}

function dropUndefined(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
