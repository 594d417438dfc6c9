import type { OwnerReference } from '../raw-object.js';
import type { SanitizeRule } from './rule.js';

/**
 * An owner reference names its owner by uid. The source's uids do not exist in the target, and there
 * the garbage collector deletes an object whose owner uid it cannot find. Each reference whose owner the
 * caller found in the target (`ctx.ownerUid`, asked with the object's already mapped namespace) gets that
 * owner's uid; any other reference is dropped, and so is the list when it ends up empty. Runs after
 * namespace-mapping.
 */
export const ownerReferences: SanitizeRule = (obj, ctx) => {
  const m = obj.metadata;
  if (!m?.ownerReferences) return;
  const kept: OwnerReference[] = [];
  for (const ref of m.ownerReferences) {
    const uid = ctx.ownerUid?.({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace: m.namespace });
    if (uid) kept.push({ ...ref, uid });
  }
  if (kept.length > 0) m.ownerReferences = kept;
  else delete m.ownerReferences;
};
