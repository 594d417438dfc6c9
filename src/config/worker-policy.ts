// The worker's own limits on what requests may make it do, whoever starts them: whoever can start a
// workflow on the task queue otherwise drives every cluster and bucket in the worker's config. Each
// rule is optional; a request outside one is refused, naming the rule and where it is written.
import { z } from 'zod';
import { globMatch } from '../domain/namespace-selection.js';

export const workerPolicySchema = z.strictObject({
  migrations: z.array(z.strictObject({ source: z.string().min(1), target: z.string().min(1) })).optional()
    .describe('the source -> target pairs requests may name (any pair of configured clusters when absent)'),
  storage: z.array(z.strictObject({ bucket: z.string().min(1), prefix: z.string().optional() })).optional()
    .describe('the buckets, and key prefixes under them, requests may name (any when absent)'),
  protectedNamespaces: z.array(z.string().min(1)).optional()
    .describe('namespaces (globs) never read, written or mapped into, whatever a request says'),
  allowUpdate: z.boolean().optional().describe('whether existingObjects "update" (overwriting objects of the target) is allowed (default true)'),
});

export type WorkerPolicy = z.infer<typeof workerPolicySchema> & { file?: string };

/** What a request would have the worker do, as far as one activity knows it. */
export interface PolicyFacts {
  source?: string;
  target?: string;
  storage?: { bucket: string; prefix: string };
  /** Namespaces read in the source and written in the target. */
  namespaces?: readonly string[];
  existingObjects?: string;
}

const segments = (prefix: string) => prefix.split('/').filter(Boolean);
/** Whether `prefix` lies at or under `allowed`, segment by segment ("teams/shop" is under "teams", not under "team"). */
const under = (prefix: string, allowed: string | undefined) => {
  const want = segments(allowed ?? '');
  const have = segments(prefix);
  return want.every((s, i) => have[i] === s);
};

/** The rules the facts break, each naming the rule; empty when the request is within the policy. */
export function policyViolations(policy: WorkerPolicy | undefined, facts: PolicyFacts): string[] {
  if (!policy) return [];
  const where = (rule: string) => `policy.${rule}${policy.file ? ` in ${policy.file}` : ''}`;
  const found: string[] = [];
  const pairs = policy.migrations;
  if (pairs && (facts.source !== undefined || facts.target !== undefined)) {
    const fits = pairs.some((p) => (facts.source === undefined || p.source === facts.source) && (facts.target === undefined || p.target === facts.target));
    if (!fits) {
      const asked = facts.source !== undefined && facts.target !== undefined ? `${facts.source} -> ${facts.target}`
        : facts.source !== undefined ? `source ${facts.source}` : `target ${facts.target}`;
      found.push(`${asked} is not allowed by ${where('migrations')} (${pairs.map((p) => `${p.source} -> ${p.target}`).join(', ') || 'none'})`);
    }
  }
  if (policy.storage && facts.storage) {
    const { bucket, prefix } = facts.storage;
    if (!policy.storage.some((s) => s.bucket === bucket && under(prefix, s.prefix))) {
      found.push(`s3://${bucket}/${prefix} is not allowed by ${where('storage')} (${policy.storage.map((s) => `s3://${s.bucket}/${s.prefix ?? ''}`).join(', ')})`);
    }
  }
  const protectedOnes = (facts.namespaces ?? []).filter((ns) => (policy.protectedNamespaces ?? []).some((p) => globMatch(p, ns)));
  if (protectedOnes.length) found.push(`namespace(s) ${protectedOnes.join(', ')} are protected by ${where('protectedNamespaces')}`);
  if (policy.allowUpdate === false && facts.existingObjects === 'update') found.push(`existingObjects "update" is not allowed by ${where('allowUpdate')}`);
  return found;
}
