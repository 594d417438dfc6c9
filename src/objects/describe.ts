// How an object is named for people, in reports, errors and examples: "Kind namespace/name".
import type { RawObject } from './raw-object.js';

/** "Kind namespace/name" ("Kind name" for a cluster-scoped object). */
export function describe(o: Pick<RawObject, 'kind' | 'metadata'>): string {
  return describeRef(o.kind ?? '', o.metadata?.namespace, o.metadata?.name ?? '');
}

/** The same, from its parts (a list item's metadata, an index entry). */
export function describeRef(kind: string, namespace: string | undefined, name: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}
