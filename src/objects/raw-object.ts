// The one model of a Kubernetes object kubeferry moves: raw JSON, every field the server sent kept.

/** Raw JSON of a Kubernetes object, exactly as the source API server returned it. */
export type RawObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    finalizers?: string[];
    managedFields?: unknown;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    selfLink?: string;
    generateName?: string;
  };
  [field: string]: unknown;
};

/** One owner reference as the API writes it. */
export type OwnerReference = NonNullable<NonNullable<RawObject['metadata']>['ownerReferences']>[number];

/** An owner as an owner reference names it; `namespace` is the dependent's (already mapped) namespace. */
export interface OwnerKey {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}
