// What a migration left in a cluster: every object of every served, listable type that carries its label.
import { discover } from '../../src/kube/discovery.js';
import { withApiRetry } from '../../src/kube/errors.js';
import { resourcePath, type KubeRest } from '../../src/kube/rest.js';
import { MIGRATION_ID_LABEL } from '../../src/objects/labels.js';

export async function labelledIn(rest: KubeRest, migrationId: string): Promise<string[]> {
  const found: string[] = [];
  for (const t of (await discover(rest)).preferred.filter((r) => r.verbs.includes('list'))) {
    // Retried like the product's calls: a type whose storage is still initializing answers 429 for a moment.
    const list = await withApiRetry(() => rest.get<{ items?: { metadata?: { namespace?: string; name?: string } }[] }>(resourcePath({ ...t, namespaced: false }), {
      query: { labelSelector: `${MIGRATION_ID_LABEL}=${migrationId}` },
    }));
    for (const o of list.items ?? []) found.push(`${t.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
  }
  return found;
}
