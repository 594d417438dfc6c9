// Cleanup after a rollback: delete what this migration created in the target, found by its label, in
// the reverse order of the restore plan (routes and workloads before the config and identities they use,
// Namespaces and CRDs last). Objects that existed before and were only updated carry an annotation that
// keeps them. Idempotent: an object already gone counts as deleted.
import { Context, heartbeat } from '@temporalio/activity';
import { mapNamespace } from '../domain/namespace-mapping.js';
import { objectId } from '../domain/references.js';
import { readManifest } from './backup.js';
import type { RawObject } from './backup-format.js';
import { apiMessage, apiStatus, type ClusterRegistry } from './clusters.js';
import type { CleanupInput, CleanupResult } from './contract.js';
import { listPages, resourcePath } from './kube-rest.js';
import { MIGRATION_ID_LABEL, PRE_EXISTING_ANNOTATION } from './labels.js';
import type { ObjectStore } from './object-store.js';
import { readPlan, withApiRetry } from './restore.js';

export async function cleanupRestored(clusters: ClusterRegistry, store: ObjectStore, input: CleanupInput): Promise<CleanupResult> {
  const result: CleanupResult = { deleted: 0, failed: 0, errors: [] };
  let manifest;
  try {
    manifest = await readManifest(store, input);
  } catch (err) {
    // No finished backup: the restore never started, so there is nothing of this migration to delete.
    if ((err as { type?: string }).type === 'BackupNotFound') return result;
    throw err;
  }
  const plan = await readPlan(store, input.storage.bucket, manifest);
  const target = clusters.get(input.target);
  const mapped = (ns: string) => mapNamespace(input.namespaceMapping, ns);
  const sourceNamespace = new Map(manifest.namespaces.map((ns) => [mapped(ns), ns]));
  const selector = `${MIGRATION_ID_LABEL}=${input.migrationId}`;
  const startWave = (Context.current().info.heartbeatDetails as { wave?: number } | undefined)?.wave ?? plan.waves.length - 1;

  for (let w = startWave; w >= 0; w--) {
    const ids = new Set(plan.waves[w]);
    const kindKeys = new Set([...ids].map((id) => id.slice(0, id.indexOf('/'))));
    for (const type of manifest.types.filter((t) => kindKeys.has(t.kindKey))) {
      const namespaces = type.namespaced ? manifest.namespaces.map(mapped) : [undefined];
      for (const namespace of namespaces) {
        const doomed: RawObject[] = [];
        for await (const page of listPages<RawObject>(target.rest, resourcePath(type, namespace), { labelSelector: selector })) {
          for (const o of page) {
            const m = o.metadata!;
            // The id the object had in the plan: its source namespace (and, for a Namespace, source name).
            const name = type.kind === 'Namespace' ? (sourceNamespace.get(m.name!) ?? m.name!) : m.name!;
            const id = objectId(type.kindKey, m.namespace ? sourceNamespace.get(m.namespace) ?? m.namespace : undefined, name);
            if (ids.has(id) && m.annotations?.[PRE_EXISTING_ANNOTATION] !== 'true') doomed.push(o);
          }
        }
        for (const o of doomed) {
          try {
            await withApiRetry(() => target.rest.request('DELETE', resourcePath(type, o.metadata?.namespace, o.metadata!.name), {
              query: { propagationPolicy: 'Background' },
            }));
            result.deleted += 1;
          } catch (err) {
            if (apiStatus(err) === 404) {
              result.deleted += 1;
              continue;
            }
            result.failed += 1;
            if (result.errors.length < 20) result.errors.push(`${type.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}: ${apiMessage(err)}`);
          }
        }
      }
    }
    heartbeat({ wave: w - 1 });
  }
  return result;
}
