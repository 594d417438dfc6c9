// The migration request: the one schema that both the client and the workflow validate against.
// It carries names only (cluster names, bucket, backup ids); credentials stay on the worker.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseNamespaceMapping } from './namespace-mapping.js';
import { resourceFilterProblem } from './resource-filter.js';
import { isSystemNamespace, mappingCollisions } from './namespace-selection.js';

export { selectNamespaces } from './namespace-selection.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAMESPACE_PATTERN = /^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$/;
export const CLUSTER_NAME = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
// S3 bucket names (the DNS-compatible subset) and key prefixes without traversal.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KEY_PREFIX = /^(?!.*\.\.)[a-zA-Z0-9!_.*'()/-]*$/;
const ID = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HAPROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
/** The most entries a list of the request holds: far above real use, and a bound on the work one request can ask for. */
const MAX_LIST = 1000;
const MAX_ROUTES = 100;

const duration = (what: string) =>
  z.union([z.string(), z.number()]).superRefine((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write e.g. "30s", "5m" or "1h"` });
    else if (ms <= 0) ctx.addIssue({ code: 'custom', message: `${what} must be longer than zero` });
  });

/** What a missing or mistyped section says: what to write there. */
const section = (shape: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `required: ${shape}` : `must be a mapping: ${shape}`),
});

const clusterRef = z.object({
  cluster: z.string().regex(CLUSTER_NAME, 'a cluster name as configured on the worker (letters, digits, "-", "_", ".")'),
}, section('{ cluster: <name the worker knows> }')).strict();

/** "namespace/name" (a workload of any kind with that name) or "kind/namespace/name". */
const workloadRef = z.string().regex(/^([a-z0-9.-]+\/)?[a-z0-9-]+\/[a-z0-9.-]+$/, 'a workload as "namespace/name" or "kind/namespace/name"');

const namespacePattern = z.string().max(63, 'a namespace name or pattern of at most 63 characters')
  .regex(NAMESPACE_PATTERN, 'a namespace name or pattern with * (lower-case letters, digits, "-" and "*")')
  // Runs of "*" match what one does; collapsed so that patterns compare as people mean them.
  .transform((p) => p.replace(/\*{2,}/g, '*'));

const resourceFilterEntry = z.string().superRefine((entry, ctx) => {
  const problem = resourceFilterProblem(entry);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const kubeName = (what: string) => z.string().regex(K8S_NAME, `${what}: lower-case letters, digits, "-" and "."`);

const routeCommon = {
  name: z.string().regex(DNS_LABEL, 'a route name: lower-case letters, digits and "-"'),
  /** The workloads that serve this entrypoint; the route gets no traffic in the target until one is ready. */
  workloads: z.array(workloadRef).min(1, 'list at least one workload ("namespace/name") that serves the route').max(MAX_LIST, `at most ${MAX_LIST} workloads`),
};

/** HAProxy: a backend with a source and a target server, weights set through the runtime API. */
const haproxyRoute = z.object({
  ...routeCommon,
  router: z.literal('haproxy'),
  backend: z.string().regex(HAPROXY_NAME, 'an HAProxy backend name'),
  sourceServer: z.string().regex(HAPROXY_NAME).default('source'),
  targetServer: z.string().regex(HAPROXY_NAME).default('target'),
}).strict();

const backendRef = z.union([
  kubeName('a Service name'),
  z.object({ name: kubeName('a backend name'), namespace: kubeName('a namespace').optional(), kind: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/).optional(), group: z.string().regex(/^[a-z0-9.-]*$/).optional() }).strict(),
]).transform((ref) => (typeof ref === 'string' ? { name: ref } : ref));

/** The fields of a route whose router keeps its weights in a Kubernetes object of one of the clusters. */
const objectRoute = <R extends string>(router: R, object: string) => ({
  ...routeCommon,
  router: z.literal(router),
  cluster: z.string().regex(CLUSTER_NAME, `the cluster (as configured on the worker) that holds the ${object}`),
  namespace: kubeName(`the ${object}'s namespace`),
});

/** Gateway API: the weights of an HTTPRoute's backendRefs, in the cluster (by name) that holds the route. */
const gatewayApiRoute = z.object({
  ...objectRoute('gateway-api', 'HTTPRoute'),
  httpRoute: kubeName('the HTTPRoute\'s name'),
  sourceBackend: backendRef,
  targetBackend: backendRef,
}).strict();

/** ingress-nginx: the canary-weight annotation of a canary Ingress that routes to the target. */
const ingressNginxRoute = z.object({
  ...objectRoute('ingress-nginx', 'canary Ingress'),
  canaryIngress: kubeName('the canary Ingress\'s name'),
}).strict();

export const ROUTERS = ['haproxy', 'gateway-api', 'ingress-nginx'] as const;

export const routeSchema = z.discriminatedUnion('router', [haproxyRoute, gatewayApiRoute, ingressNginxRoute], {
  error: (issue) => (issue.code === 'invalid_union' ? `router must be one of ${ROUTERS.map((r) => `"${r}"`).join(', ')}` : undefined),
});

/** A weight step: the percent to the target, and whether an operator must approve it first. */
const weight = z.number().int('a weight is a whole percent').min(1, 'a weight is at least 1 (percent to the target)')
  .max(100, 'a weight is at most 100 (percent to the target)');
const stepSchema = z.union([
  weight,
  z.object({ weight, approval: z.boolean().default(false) }).strict(),
], { error: 'a step is a weight 1..100, or { "weight": 1..100, "approval": true }' })
  .transform((s) => (typeof s === 'number' ? { weight: s, approval: false } : s));

export const trafficSchema = z.object({
  /** Target weights in percent, strictly increasing, ending at 100; a step may wait for approval. */
  steps: z.array(stepSchema).min(1).max(MAX_ROUTES, `at most ${MAX_ROUTES} steps`).prefault([10, 25, 50, 100]),
  stepInterval: duration('traffic.stepInterval').default('30s'),
  /**
   * Grayscale time threshold: once traffic has been moving this long (paused time not counted), every
   * route goes to 100 % target, except one with no ready workload there (reported).
   */
  cutoverAfter: duration('traffic.cutoverAfter').optional(),
  /** After all traffic is on the target, how long the migration stays open for a rollback (default none). */
  observeFor: z.union([z.string(), z.number()]).default('0s').superRefine((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < 0) ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write e.g. "0s", "10m" or "1h"` });
  }),
  /** What caps a route's weight: the readiness of all workloads (overall) or of the route's own. */
  ratio: z.enum(['overall', 'route'], { error: 'ratio must be "overall" or "route"' }).default('overall'),
  /** Count ready replicas instead of ready workloads in the grayscale ratio. */
  weightByReplicas: z.boolean().default(false),
}).strict().superRefine((t, ctx) => {
  t.steps.forEach((step, i) => {
    const before = t.steps[i - 1];
    if (before && step.weight <= before.weight) {
      ctx.addIssue({ code: 'custom', path: ['steps', i], message: `weights must increase: ${step.weight} follows ${before.weight}` });
    }
  });
  if (t.steps.at(-1)?.weight !== 100) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step must be 100 so that all traffic ends on the target' });
  const threshold = t.cutoverAfter === undefined ? undefined : parseDuration(t.cutoverAfter);
  const interval = parseDuration(t.stepInterval);
  if (threshold !== undefined && interval !== undefined && threshold < interval) {
    ctx.addIssue({ code: 'custom', path: ['cutoverAfter'], message: `the grayscale time threshold (${t.cutoverAfter}) is shorter than one step interval (${t.stepInterval})` });
  }
});

export const readinessSchema = z.object({
  pollInterval: duration('readiness.pollInterval').default('5s'),
  timeout: duration('readiness.timeout').default('10m'),
}).strict();

export const migrationRequestSchema = z.object({
  /** plan: a dry run that reports what migrate would copy; nothing is written anywhere. */
  task: z.enum(['migrate', 'backup', 'restore', 'plan'], { error: 'task must be one of "migrate", "backup", "restore", "plan"' }).default('migrate'),
  source: clusterRef,
  target: clusterRef,
  storage: z.object({
    bucket: z.string().regex(BUCKET, 'an S3 bucket name (3-63 lower-case letters, digits, "." and "-")'),
    prefix: z.string().max(512, 'a key prefix of at most 512 characters').regex(KEY_PREFIX, 'a key prefix without ".." (letters, digits and !_.*\'()/-)')
      // A gateway backed by a file system may fold "a//b", "./a" and "/a" onto "a": two prefixes, one folder.
      .refine((p) => p.replace(/\/+$/, '').split('/').every((segment) => segment !== '' && segment !== '.'),
        'a key prefix of "/"-separated segments, none empty or "." (e.g. "teams/shop"; no leading "/", no "//")')
      .default('kubeferry'),
  }, section('{ bucket: <S3 bucket>, prefix: <key prefix> } (or storage.bucket in the config file, or --bucket)')).strict(),
  /** Restore reads this backup; migrate and backup write one under this id (default: the migration id). */
  backupId: z.string().regex(ID, 'a backup id: lower-case letters, digits and "-", at most 63').optional(),
  namespaces: z.object({
    include: z.array(namespacePattern).min(1, 'name at least one namespace to migrate').max(MAX_LIST, `at most ${MAX_LIST} entries`),
    exclude: z.array(namespacePattern).max(MAX_LIST, `at most ${MAX_LIST} entries`).default([]),
    /** "old:new": restore the objects of namespace old into namespace new. */
    mapping: z.array(z.string().max(127)).max(MAX_LIST, `at most ${MAX_LIST} entries`).default([]).superRefine((entries, ctx) => {
      for (const problem of parseNamespaceMapping(entries).problems) {
        const [index, ...rest] = problem.split(': ');
        ctx.addIssue({ code: 'custom', path: [Number(index)], message: rest.join(': ') });
      }
    }).transform((entries) => parseNamespaceMapping(entries).mapping),
  }, section('{ include: [<namespace>, ...] } (or -n on the command line)')).strict(),
  /**
   * Whether kube-system, kube-public, kube-node-lease and kubeferry-system may be selected: never by a
   * wildcard otherwise, and naming one needs it too. Mappings into or out of them are refused regardless.
   */
  allowSystemNamespaces: z.boolean({ error: 'allowSystemNamespaces must be true or false' }).default(false),
  /** Resource types as kubectl names them ("deployments", "deploy", "deployments.apps", "*"), resolved by discovery. */
  resources: z.object({
    include: z.array(resourceFilterEntry).min(1, 'name at least one resource type, or "*" for every type').max(MAX_LIST, `at most ${MAX_LIST} entries`).default(['*']),
    exclude: z.array(resourceFilterEntry.refine((entry) => entry !== '*', '"*" would leave out every type; list the types to leave out'))
      .max(MAX_LIST, `at most ${MAX_LIST} entries`).default([]),
  }).strict().default({ include: ['*'], exclude: [] }),
  /**
   * Cluster-scoped objects of the selected types. auto: only those the selected namespaced objects need;
   * include: every one; exclude: none. The Namespaces of the selected namespaces are always copied.
   */
  clusterResources: z.enum(['auto', 'include', 'exclude'], { error: 'clusterResources must be "auto", "include" or "exclude"' })
    .default('auto'),
  /** How objects are adjusted for the target. keepNodePorts: keep the source's Service node ports. */
  sanitize: z.object({
    keepNodePorts: z.boolean({ error: 'keepNodePorts must be true or false' }).default(false),
  }).strict().default({ keepNodePorts: false }),
  labelSelector: z.string().max(1024).optional(),
  /**
   * Before the first workload is written, each one's pods are dry-run in the target (quotas, LimitRanges,
   * Pod Security, webhooks). enforce: a refusal fails the migration; warn: it is reported and the
   * migration goes on; off: no dry run.
   */
  admission: z.enum(['enforce', 'warn', 'off'], { error: 'admission must be "enforce", "warn" or "off"' }).default('enforce'),
  /** What to do with objects that already exist in the target. */
  existingObjects: z.enum(['skip', 'update', 'fail'], { error: 'existingObjects must be "skip", "update" or "fail"' }).default('skip'),
  /**
   * With existingObjects "update": take over fields another manager owns (Argo CD, Flux, a controller).
   * Without it, such an object is reported as a conflict, naming the managers, and left as it is.
   */
  forceConflicts: z.boolean().default(false),
  routes: z.array(routeSchema).max(MAX_ROUTES, `at most ${MAX_ROUTES} routes`).default([]),
  traffic: trafficSchema.prefault({}),
  readiness: readinessSchema.default({ pollInterval: '5s', timeout: '10m' }),
}).strict().superRefine((r, ctx) => {
  if (r.source.cluster === r.target.cluster && r.task !== 'backup') {
    ctx.addIssue({ code: 'custom', path: ['target', 'cluster'], message: 'source and target must be different clusters' });
  }
  if (r.task === 'restore' && !r.backupId) {
    ctx.addIssue({ code: 'custom', path: ['backupId'], message: 'a restore needs the id of an existing backup' });
  }
  r.namespaces.include.forEach((ns, i) => {
    if (isSystemNamespace(ns) && !r.allowSystemNamespaces) {
      ctx.addIssue({ code: 'custom', path: ['namespaces', 'include', i], message: `"${ns}" is a system namespace of the cluster; set allowSystemNamespaces: true to copy it` });
    }
  });
  for (const [from, to] of Object.entries(r.namespaces.mapping)) {
    const system = [from, to].filter(isSystemNamespace);
    if (system.length) ctx.addIssue({ code: 'custom', path: ['namespaces', 'mapping'], message: `"${from}:${to}" maps ${system.includes(from) ? 'out of' : 'into'} the system namespace "${system[0]}"; system namespaces keep their names` });
  }
  // Over the namespaces named outright (patterns are checked against the source's namespaces by the backup).
  for (const collision of mappingCollisions(r.namespaces.mapping, r.namespaces.include.filter((ns) => !ns.includes('*')))) {
    ctx.addIssue({ code: 'custom', path: ['namespaces', 'mapping'], message: `the mapping is not one-to-one: ${collision}` });
  }
  const overlap = r.namespaces.include.filter((ns) => r.namespaces.exclude.includes(ns));
  if (overlap.length) {
    ctx.addIssue({ code: 'custom', path: ['namespaces'], message: `namespaces both included and excluded: ${overlap.join(', ')}` });
  }
  const excludedTypes = new Set(r.resources.exclude.map((e) => e.toLowerCase()));
  // "*" in exclude has its own message above.
  const typeOverlap = r.resources.include.filter((e) => e !== '*' && excludedTypes.has(e.toLowerCase()));
  if (typeOverlap.length) {
    ctx.addIssue({ code: 'custom', path: ['resources'], message: `resource types both included and excluded: ${typeOverlap.join(', ')}` });
  }
  const names = new Set<string>();
  r.routes.forEach((route, i) => {
    if (names.has(route.name)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'name'], message: `route "${route.name}" is listed twice` });
    names.add(route.name);
  });
  const timeout = parseDuration(r.readiness.timeout) ?? 0;
  if ((parseDuration(r.readiness.pollInterval) ?? 0) > timeout) {
    ctx.addIssue({ code: 'custom', path: ['readiness', 'pollInterval'], message: 'the poll interval must not be longer than the readiness timeout' });
  }
});

/** What a client sends (the workflow's input, and schema/migration-request.schema.json). */
export type MigrationRequestInput = z.input<typeof migrationRequestSchema>;
/** The request as the schema leaves it: defaults filled in, durations as written ("30s", or seconds as a number). */
type CheckedRequest = z.output<typeof migrationRequestSchema>;
/**
 * The request as parseMigrationRequest returns it: checked, defaults filled in, and each duration parsed
 * once into milliseconds (the `...Ms` fields) beside the value as written, which messages quote.
 */
export type MigrationRequest = Omit<CheckedRequest, 'traffic' | 'readiness'> & {
  traffic: CheckedRequest['traffic'] & { stepIntervalMs: number; cutoverAfterMs?: number; observeForMs: number };
  readiness: CheckedRequest['readiness'] & { pollIntervalMs: number; timeoutMs: number };
};
export type RouteSpec = z.output<typeof routeSchema>;
export type StepSpec = z.output<typeof stepSchema>;
export type MigrationTask = MigrationRequest['task'];
/** include/exclude entries as written; resolve them with selectResourceTypes (resource-filter.ts). */
export type ResourceFilter = MigrationRequest['resources'];
export type ClusterResourcesMode = MigrationRequest['clusterResources'];
export type SanitizeOptions = MigrationRequest['sanitize'];

/** A request that failed validation; `problems` name each field as a dotted path. */
export class InvalidRequestError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid migration request:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InvalidRequestError';
  }
}

/**
 * The migration id is the workflow id; it becomes the default backup id (an S3 key segment) and a label
 * value on every restored object, so it must be a DNS label.
 */
export function migrationIdProblem(id: string): string | undefined {
  return ID.test(id) ? undefined : `migration id "${id}" must be lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit`;
}

/**
 * Validates, fills in defaults and parses the durations into milliseconds, or throws InvalidRequestError
 * listing every problem at once.
 */
export function parseMigrationRequest(input: unknown): MigrationRequest {
  const result = migrationRequestSchema.safeParse(input);
  if (result.success) return withMilliseconds(result.data);
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(request)';
    return `${where}: ${issue.message}`;
  });
  throw new InvalidRequestError(problems);
}

/** The checked request with each of its durations in milliseconds, parsed here once. */
function withMilliseconds(request: CheckedRequest): MigrationRequest {
  const { traffic, readiness } = request;
  return {
    ...request,
    traffic: {
      ...traffic,
      stepIntervalMs: checkedMs(traffic.stepInterval),
      ...(traffic.cutoverAfter === undefined ? {} : { cutoverAfterMs: checkedMs(traffic.cutoverAfter) }),
      observeForMs: checkedMs(traffic.observeFor),
    },
    readiness: { ...readiness, pollIntervalMs: checkedMs(readiness.pollInterval), timeoutMs: checkedMs(readiness.timeout) },
  };
}

/** A duration the schema accepted, in milliseconds. */
function checkedMs(value: string | number): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new Error(`"${value}" passed the request schema but is not a duration`);
  return ms;
}
