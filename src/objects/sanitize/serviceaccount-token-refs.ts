import type { SanitizeRule } from './rule.js';

/**
 * Before Kubernetes 1.24 the token controller created a `<sa>-token-<5 chars>` Secret for every
 * ServiceAccount and listed it in the account's `secrets`. Those tokens were signed by the source's key
 * and their Secrets are not migrated, so the references to them go (and `secrets` when nothing is left).
 * Secrets the user listed stay, and `imagePullSecrets` is the user's and is not touched.
 */
export const serviceAccountTokenRefs: SanitizeRule = (obj) => {
  if (obj.kind !== 'ServiceAccount') return;
  const name = obj.metadata?.name;
  const secrets = obj.secrets as { name?: string }[] | undefined;
  if (!name || !Array.isArray(secrets)) return;
  const generated = new RegExp(`^${escapeRegExp(name)}-token-[a-z0-9]{5}$`);
  const kept = secrets.filter((s) => !(s.name && generated.test(s.name)));
  if (kept.length > 0) obj.secrets = kept;
  else delete obj.secrets;
};

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
