// Sanitizing: what must change in an object read from the source before it is created in the target.
// One small rule per concern, each in its own file, applied in order; see each rule for why.
import type { KubernetesObject } from '@kubernetes/client-node';
import { serverSetMetadata } from './server-set-metadata.js';
import { dropStatus } from './status.js';
import { serviceAddresses } from './service-addresses.js';
import { deploymentRevision } from './deployment-revision.js';
import { migrationLabel } from './migration-label.js';
import { namespaceMapping } from './namespace-mapping.js';
import type { NamespaceMapping } from '../../domain/namespace-mapping.js';

export { MIGRATION_ID_LABEL } from '../labels.js';

export interface SanitizeContext {
  migrationId: string;
  /** Source namespace -> target namespace. */
  namespaceMapping?: NamespaceMapping;
}

/** A rule rewrites one object in place; it returns nothing and ignores kinds it is not about. */
export type SanitizeRule = (obj: KubernetesObject & Record<string, unknown>, ctx: SanitizeContext) => void;

export const RULES: readonly SanitizeRule[] = [serverSetMetadata, dropStatus, serviceAddresses, deploymentRevision, namespaceMapping, migrationLabel];

export function sanitize<T extends KubernetesObject>(obj: T, ctx: SanitizeContext): T {
  const copy = structuredClone(obj) as T & Record<string, unknown>;
  for (const rule of RULES) rule(copy, ctx);
  return copy;
}
