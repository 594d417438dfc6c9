// References between Kubernetes objects, read from the objects themselves: what must exist before an
// object is created so that it works at once (a pod template's ConfigMaps and Secrets, a RoleBinding's
// Role, an HTTPRoute's Services...). Pure: objects are plain JSON here, no client involved.

/** An object's identity in a plan: "Kind/namespace/name", or "Kind//name" for cluster-scoped objects. */
export const objectId = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

/** Whether an id names a cluster-scoped object ("Kind//name"). */
export const isClusterScopedId = (id: string) => /^[^/]+\/\/[^/]+$/.test(id);

/** The id a custom resource uses for its definition: the CRD's own name is "<plural>.<group>". */
export const crdIdFor = (group: string, plural: string) => objectId('CustomResourceDefinition', undefined, `${plural}.${group}`);

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [key: string]: unknown;
}

const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

function podSpecOf(o: ObjectLike): Json | undefined {
  const path = POD_TEMPLATE_PATHS[o.kind ?? ''];
  if (!path) return undefined;
  let cur: unknown = o;
  for (const key of path) cur = obj(cur)[key];
  return obj(cur);
}

/** What a pod spec needs in its namespace, and the cluster-scoped PriorityClass it names. */
function podSpecReferences(spec: Json, ns: string): string[] {
  const refs: string[] = [];
  // `null` marks a cluster-scoped kind (undefined would take the default namespace).
  const add = (kind: string, name: string | undefined, namespace: string | null = ns) => {
    if (name) refs.push(objectId(kind, namespace ?? undefined, name));
  };
  add('ServiceAccount', str(spec.serviceAccountName) ?? str(spec.serviceAccount));
  add('PriorityClass', str(spec.priorityClassName), null);
  add('RuntimeClass', str(spec.runtimeClassName), null);
  for (const s of arr(spec.imagePullSecrets)) add('Secret', str(obj(s).name));
  for (const v of arr(spec.volumes)) {
    const volume = obj(v);
    add('ConfigMap', str(obj(volume.configMap).name));
    add('Secret', str(obj(volume.secret).secretName));
    add('PersistentVolumeClaim', str(obj(volume.persistentVolumeClaim).claimName));
    for (const source of arr(obj(volume.projected).sources)) {
      add('ConfigMap', str(obj(obj(source).configMap).name));
      add('Secret', str(obj(obj(source).secret).name));
    }
  }
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers), ...arr(spec.ephemeralContainers)]) {
    const container = obj(c);
    for (const from of arr(container.envFrom)) {
      add('ConfigMap', str(obj(obj(from).configMapRef).name));
      add('Secret', str(obj(obj(from).secretRef).name));
    }
    for (const e of arr(container.env)) {
      const valueFrom = obj(obj(e).valueFrom);
      add('ConfigMap', str(obj(valueFrom.configMapKeyRef).name));
      add('Secret', str(obj(valueFrom.secretKeyRef).name));
    }
  }
  return refs;
}

/** Kinds of owners that live outside any namespace. */
const CLUSTER_SCOPED_OWNERS = new Set(['Namespace', 'Node', 'CustomResourceDefinition', 'ClusterRole', 'PersistentVolume']);

/** Kind of a workload an HPA or similar names through `{apiVersion, kind, name}`. */
function targetRef(ref: unknown, ns: string): string | undefined {
  const r = obj(ref);
  const kind = str(r.kind);
  const name = str(r.name);
  return kind && name ? objectId(kind, ns, name) : undefined;
}

/**
 * The kind as plan ids write it: custom resources (kinds a CRD serves, which `pluralOf` knows) are
 * qualified by their group, since two CRDs may serve the same kind name; built-in kinds are not.
 */
export function kindKeyOf(apiVersion: string | undefined, kind: string, pluralOf: (groupKind: string) => string | undefined = () => undefined): string {
  const group = (apiVersion ?? '').includes('/') ? (apiVersion ?? '').split('/')[0]! : '';
  return group && pluralOf(`${group}/${kind}`) ? `${kind}.${group}` : kind;
}

/**
 * Every object this one needs to exist first, as ids. `pluralOf` maps the "group/Kind" of a kind served
 * by a CustomResourceDefinition to its plural, so that the CRD can be named; other kinds get no CRD edge.
 */
export function referencesOf(o: ObjectLike, pluralOf: (groupKind: string) => string | undefined = () => undefined): string[] {
  const kind = o.kind ?? '';
  const ns = o.metadata?.namespace;
  const refs: string[] = [];
  if (ns) refs.push(objectId('Namespace', undefined, ns));
  const spec = obj(o.spec);

  const podSpec = podSpecOf(o);
  if (podSpec && ns) refs.push(...podSpecReferences(podSpec, ns));
  // Owners first, so that the restore can point the owner reference at the owner's new uid.
  for (const r of arr(obj(o.metadata).ownerReferences)) {
    const owner = obj(r);
    const ownerKind = str(owner.kind);
    const ownerName = str(owner.name);
    if (ownerKind && ownerName) {
      const key = kindKeyOf(str(owner.apiVersion), ownerKind, pluralOf);
      // An owner is in the same namespace, or cluster-scoped (the only kind tried is Namespace-less).
      refs.push(objectId(key, CLUSTER_SCOPED_OWNERS.has(ownerKind) ? undefined : ns, ownerName));
    }
  }

  switch (kind) {
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const role = obj(o.roleRef);
      const roleKind = str(role.kind);
      const roleName = str(role.name);
      if (roleKind && roleName) refs.push(objectId(roleKind, roleKind === 'Role' ? ns : undefined, roleName));
      for (const s of arr(o.subjects)) {
        const subject = obj(s);
        if (subject.kind === 'ServiceAccount' && str(subject.name)) {
          refs.push(objectId('ServiceAccount', str(subject.namespace) ?? ns, str(subject.name)!));
        }
      }
      break;
    }
    case 'PersistentVolumeClaim': {
      const sc = str(spec.storageClassName);
      if (sc) refs.push(objectId('StorageClass', undefined, sc));
      break;
    }
    case 'StatefulSet': {
      for (const t of arr(spec.volumeClaimTemplates)) {
        const sc = str(obj(obj(t).spec).storageClassName);
        if (sc) refs.push(objectId('StorageClass', undefined, sc));
      }
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const target = ns && targetRef(spec.scaleTargetRef, ns);
      if (target) refs.push(target);
      break;
    }
    case 'Ingress': {
      const backends = [obj(spec.defaultBackend), ...arr(spec.rules).flatMap((r) => arr(obj(obj(r).http).paths).map((p) => obj(obj(p).backend)))];
      for (const b of backends) {
        const service = str(obj(b.service).name);
        if (service && ns) refs.push(objectId('Service', ns, service));
      }
      const ingressClass = str(spec.ingressClassName);
      if (ingressClass) refs.push(objectId('IngressClass', undefined, ingressClass));
      break;
    }
    case 'HTTPRoute':
    case 'GRPCRoute': {
      for (const rule of arr(spec.rules)) {
        for (const b of arr(obj(rule).backendRefs)) {
          const ref = obj(b);
          const refKind = str(ref.kind) ?? 'Service';
          const name = str(ref.name);
          if (name && (ref.group === undefined || ref.group === '')) refs.push(objectId(refKind, str(ref.namespace) ?? ns, name));
        }
      }
      break;
    }
  }

  // A custom resource needs its definition; `pluralOf` knows only the kinds that CRDs serve.
  const group = (o.apiVersion ?? '').includes('/') ? (o.apiVersion ?? '').split('/')[0]! : '';
  const plural = group ? pluralOf(`${group}/${kind}`) : undefined;
  if (plural) refs.push(crdIdFor(group, plural));
  const self = objectId(kindKeyOf(o.apiVersion, kind, pluralOf), ns, o.metadata?.name ?? '');
  return [...new Set(refs)].filter((r) => r !== self);
}
