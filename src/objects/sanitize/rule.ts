// What a sanitize rule is and what it knows; the rules and the list of them import this, not the list.
import type { NamespaceMapping } from '../../domain/namespace-mapping.js';
import type { OwnerKey, RawObject } from '../raw-object.js';

export interface SanitizeContext {
  migrationId: string;
  /** The migration's run (workflow run id), recorded on each object it creates. */
  runId?: string;
  /** Source namespace -> target namespace. */
  namespaceMapping?: NamespaceMapping;
  /** The namespaces migrated (in the source): cluster-wide bindings keep only their ServiceAccounts. */
  sourceNamespaces?: ReadonlySet<string>;
  /** Keep Service node ports (and the health-check node port) instead of letting the target allocate them. */
  keepNodePorts?: boolean;
  /**
   * The uid of an owner in the target, or undefined when it is not there. Synchronous: the caller resolves
   * the owners beforehand. Without it, every owner reference is dropped.
   */
  ownerUid?: (owner: OwnerKey) => string | undefined;
}

/** A rule rewrites one object in place; it returns nothing and ignores kinds it is not about. */
export type SanitizeRule = (obj: RawObject, ctx: SanitizeContext) => void;
