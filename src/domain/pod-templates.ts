// The pods a workload will ask its target for, built from its pod template, so that the target can be
// asked (a server-side dry run) whether it would admit them before any workload is written: quotas,
// LimitRanges, Pod Security admission and validating webhooks all judge pods, not Deployments.

/** Kinds (as plan ids and wave kinds write them) whose objects make pods from a template, or are pods. */
export const POD_MAKING_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod', 'ReplicationController']);

/** The API groups those kinds live in; a custom resource named "Deployment" elsewhere is not one. */
const GROUP_OF: Readonly<Record<string, string>> = {
  Deployment: 'apps', StatefulSet: 'apps', DaemonSet: 'apps', ReplicaSet: 'apps', Job: 'batch', CronJob: 'batch', Pod: '', ReplicationController: '',
};

/** Index of the first wave that holds a pod-making kind, or -1. */
export function firstPodWave(waves: readonly { kinds: readonly string[] }[]): number {
  return waves.findIndex((w) => w.kinds.some((k) => POD_MAKING_KINDS.has(k)));
}

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
};
type Template = { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> };

const groupOf = (apiVersion: string | undefined) => (apiVersion?.includes('/') ? apiVersion.split('/')[0]! : '');

/** Whether `obj` is a built-in workload or a Pod (by kind and group). */
export function makesPods(obj: Obj): boolean {
  const kind = obj.kind ?? '';
  return POD_MAKING_KINDS.has(kind) && groupOf(obj.apiVersion) === GROUP_OF[kind];
}

function templateOf(obj: Obj): Template | undefined {
  const spec = obj.spec as { template?: Template; jobTemplate?: { spec?: { template?: Template } } } | undefined;
  if (obj.kind === 'Pod') return { metadata: obj.metadata ?? {}, spec: obj.spec ?? {} };
  if (obj.kind === 'CronJob') return spec?.jobTemplate?.spec?.template;
  return spec?.template;
}

/** Room for the API server's five random characters within a 63-character name. */
const POD_NAME_ROOM = 50;

/**
 * The Pod the workload's controller would create in its namespace: the template's labels, annotations
 * and spec (not the workload's own metadata), with a generated name. A StatefulSet's claim templates become the claims its pods mount.
 * Undefined for objects that make no pods.
 */
export function podFor(obj: Obj): Record<string, unknown> | undefined {
  if (!makesPods(obj)) return undefined;
  const template = templateOf(obj);
  if (!template?.spec) return undefined;
  const spec = structuredClone(template.spec) as Record<string, unknown> & { volumes?: unknown[]; nodeName?: string };
  delete spec.nodeName;
  if (obj.kind === 'StatefulSet') {
    const claims = ((obj.spec as { volumeClaimTemplates?: { metadata?: { name?: string } }[] } | undefined)?.volumeClaimTemplates ?? [])
      .map((c) => c.metadata?.name).filter((n): n is string => Boolean(n));
    const named = new Set((spec.volumes ?? []).map((v) => (v as { name?: string }).name));
    spec.volumes = [
      ...(spec.volumes ?? []),
      ...claims.filter((c) => !named.has(c)).map((c) => ({ name: c, persistentVolumeClaim: { claimName: `${c}-${obj.metadata?.name}-0` } })),
    ];
  }
  const name = obj.metadata?.name ?? 'pod';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name.slice(0, POD_NAME_ROOM)}-`,
      namespace: obj.metadata?.namespace,
      ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}),
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
    },
    spec,
  };
}
