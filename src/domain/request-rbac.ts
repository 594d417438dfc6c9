// RBAC for one migration request, for the two grants a static manifest cannot scope: the source
// identity's Secret reads, limited to the namespaces the request names, and the routers' writes, limited
// to the objects its routes name (RBAC's resourceNames). `kubeferry rbac source|router` prints them, to
// apply beside deploy/rbac/ (which grants the rest and leaves these two out).
import type { MigrationRequest, RouteSpec } from './request.js';
import { selectResourceTypes, type ApiResourceInfo } from './resource-filter.js';

/** The ServiceAccount the worker's kubeconfig holds a token of (deploy/rbac/ creates kubeferry-system/kubeferry). */
export interface RbacSubject {
  namespace: string;
  name: string;
}
export const KUBEFERRY_IDENTITY: RbacSubject = { namespace: 'kubeferry-system', name: 'kubeferry' };

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

export interface RbacObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role' | 'RoleBinding';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  rules?: PolicyRule[];
  roleRef?: { apiGroup: 'rbac.authorization.k8s.io'; kind: 'Role'; name: string };
  subjects?: { kind: 'ServiceAccount'; name: string; namespace: string }[];
}

/** What to apply in one cluster (by its name in the worker config), and why. */
export interface ClusterRbac {
  cluster: string;
  objects: RbacObject[];
  notes: string[];
}

/** The request cannot be given scoped grants as written; the message says what to change. */
export class RbacScopeError extends Error {
  override name = 'RbacScopeError';
}

/**
 * On every Role and RoleBinding printed here, with what it is for: kubeferry's own access, which a backup
 * leaves out (it lives in the namespaces it migrates, and is no part of the application).
 */
export const GRANT_LABEL = 'kubeferry.io/grant';
export const SOURCE_SECRETS_ROLE = 'kubeferry-source-secrets';
export const routerRoleName = (route: string) => `kubeferry-router-${route}`;

function roleAndBinding(grant: 'source-secrets' | 'router', namespace: string, name: string, why: string, rules: PolicyRule[], subject: RbacSubject): RbacObject[] {
  const metadata = { name, namespace, labels: { 'app.kubernetes.io/name': 'kubeferry', [GRANT_LABEL]: grant }, annotations: { 'kubeferry.io/why': why } };
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: structuredClone(metadata),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
    },
  ];
}

/** Core Secrets as discovery serves them: the request's type filters are matched against it as against any served type. */
const SECRETS: ApiResourceInfo = { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true, verbs: ['get', 'list'], singularName: 'secret' };
const leavesSecretsOut = (resources: MigrationRequest['resources']) => selectResourceTypes([SECRETS], resources).selected.length === 0;

/**
 * `get` and `list` on Secrets in each namespace the request selects, in the source: deploy/rbac's source
 * role reads every other type cluster-wide, Secrets nowhere. Namespaces must be named one by one: a pattern
 * ("shop-*") matches namespaces that do not exist yet, which no Role can be made for in advance.
 */
export function sourceSecretsRbac(request: Pick<MigrationRequest, 'source' | 'namespaces' | 'resources'>, subject: RbacSubject = KUBEFERRY_IDENTITY): ClusterRbac {
  const cluster = request.source.cluster;
  if (leavesSecretsOut(request.resources)) return { cluster, objects: [], notes: ['the request leaves Secrets out (resources): the source identity needs no Secret access for it'] };
  const patterns = request.namespaces.include.filter((ns) => ns.includes('*'));
  if (patterns.length) {
    throw new RbacScopeError(
      `namespaces.include holds patterns (${patterns.join(', ')}): Secret reads can be scoped only to namespaces named one by one, since a Role ` +
        'is made per namespace and a pattern may match namespaces that do not exist yet. Name the namespaces, or grant Secrets cluster-wide ' +
        '(the commented-out kubeferry-source-secrets-everywhere in deploy/rbac/source-reader.yaml) if you accept what that allows.',
    );
  }
  const namespaces = request.namespaces.include.filter((ns) => !request.namespaces.exclude.includes(ns));
  return {
    cluster,
    objects: namespaces.flatMap((ns) => roleAndBinding('source-secrets', ns, SOURCE_SECRETS_ROLE, 'the backup lists the Secrets of this namespace', [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
    ], subject)),
    notes: [`Secrets readable in ${namespaces.length} namespace(s) of "${cluster}": ${namespaces.join(', ')}; nowhere else`],
  };
}

/**
 * For each route whose router keeps its weights in a Kubernetes object: a Role in that object's namespace,
 * in the cluster the route names, allowing what the router does to that one object (gateway-api reads the
 * HTTPRoute and writes its weights back with PUT; ingress-nginx reads the canary Ingress and merge-patches
 * its weight annotation) and nothing to any other. HAProxy routes need none: their weights live in HAProxy.
 */
export function routerRbac(routes: readonly RouteSpec[], subject: RbacSubject = KUBEFERRY_IDENTITY): ClusterRbac[] {
  const byCluster = new Map<string, ClusterRbac>();
  for (const route of routes) {
    if (route.router === 'haproxy') continue;
    const entry = byCluster.get(route.cluster) ?? { cluster: route.cluster, objects: [], notes: [] };
    byCluster.set(route.cluster, entry);
    const [rule, what] = route.router === 'gateway-api'
      ? [{ apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], resourceNames: [route.httpRoute], verbs: ['get', 'update'] }, `HTTPRoute ${route.namespace}/${route.httpRoute}`]
      : [{ apiGroups: ['networking.k8s.io'], resources: ['ingresses'], resourceNames: [route.canaryIngress], verbs: ['get', 'patch'] }, `Ingress ${route.namespace}/${route.canaryIngress}`];
    entry.objects.push(...roleAndBinding('router', route.namespace, routerRoleName(route.name), `route "${route.name}" sets the weights of ${what}`, [rule], subject));
    entry.notes.push(`route "${route.name}": ${rule.verbs.join(' and ')} on ${what} only`);
  }
  return [...byCluster.values()];
}
