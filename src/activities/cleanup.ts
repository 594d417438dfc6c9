// Cleanup after a rollback, or of any ended migration (`kubeferry cleanup`): delete what this migration
// created in the target, found by its label, in the reverse order of the restore plan (routes and
// workloads before the config and identities they use, Namespaces and CRDs last). Objects that existed
// before and were only updated carry an annotation that keeps them; objects another run of the same id
// created are kept too. Idempotent: an object already gone counts as deleted.
import { CancelledFailure, Context, heartbeat } from '@temporalio/activity';
import { mapNamespace } from '../domain/namespace-mapping.js';
import { objectId } from '../domain/references.js';
import type { RawObject } from '../store/backup-format.js';
import type { ClusterRegistry } from '../kube/clusters.js';
import type { CleanupInput, CleanupResult } from './contract.js';
import { listPages, resourcePath } from '../kube/rest.js';
import { MIGRATION_ID_LABEL, MIGRATION_RUN_ANNOTATION, PRE_EXISTING_ANNOTATION } from '../objects/labels.js';
import type { ObjectStore } from '../store/object-store.js';
import { describe } from '../objects/describe.js';
import { apiMessage, apiStatus, withApiRetry } from '../kube/errors.js';
import { readManifest, readPlan } from '../store/backup-store.js';
import type { BackupKeyring } from '../store/archive-crypto.js';
import { FAILURE } from '../domain/failures.js';

export async function cleanupRestored(clusters: ClusterRegistry, store: ObjectStore, keys: BackupKeyring | undefined, input: CleanupInput): Promise<CleanupResult> {
  const resumed = Context.current().info.heartbeatDetails as CleanupCursor | undefined;
  const result: CleanupResult = resumed?.result ?? { deleted: 0, failed: 0, errors: [], removed: [], kept: 0, keptExamples: [] };
  let manifest;
  try {
    manifest = await readManifest(store, input.storage, input.backupId, keys);
  } catch (err) {
    // No finished backup: the restore never started, so there is nothing of this migration to delete.
    if ((err as { type?: string }).type === FAILURE.BackupNotFound) return result;
    throw err;
  }
  const plan = await readPlan(store, input.storage, manifest);
  const target = clusters.get(input.target);
  const mapped = (ns: string) => mapNamespace(input.namespaceMapping, ns);
  const sourceNamespace = new Map(manifest.namespaces.map((ns) => [mapped(ns), ns]));
  const selector = `${MIGRATION_ID_LABEL}=${input.migrationId}`;
  const startWave = resumed?.wave ?? plan.waves.length - 1;
  const keep = (o: RawObject, why: string) => {
    result.kept = (result.kept ?? 0) + 1;
    if ((result.keptExamples ??= []).length < MAX_EXAMPLES) result.keptExamples.push(`${describe(o)} (${why})`);
  };
  const removed = (kind: string) => {
    const entry = (result.removed ??= []).find((k) => k.kind === kind);
    if (entry) entry.count += 1;
    else result.removed.push({ kind, count: 1 });
  };

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
            if (!ids.has(id)) continue;
            if (m.annotations?.[PRE_EXISTING_ANNOTATION] === 'true') keep({ ...o, kind: type.kind }, 'it existed before the migration');
            else if (input.runId && m.annotations?.[MIGRATION_RUN_ANNOTATION] && m.annotations[MIGRATION_RUN_ANNOTATION] !== input.runId) {
              keep({ ...o, kind: type.kind }, 'another run of this migration id created it');
            } else doomed.push(o);
          }
        }
        for (const o of doomed) {
          if (Context.current().cancellationSignal.aborted) throw new CancelledFailure('cleanup cancelled');
          try {
            await withApiRetry(() => target.rest.request('DELETE', resourcePath(type, o.metadata?.namespace, o.metadata!.name), {
              query: { propagationPolicy: 'Background' },
            }));
            result.deleted += 1;
            removed(type.kindKey);
          } catch (err) {
            if (apiStatus(err) === 404) {
              result.deleted += 1;
              removed(type.kindKey);
              continue;
            }
            result.failed += 1;
            if (result.errors.length < 20) result.errors.push(`${type.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}: ${apiMessage(err)}`);
          }
        }
      }
    }
    heartbeat({ wave: w - 1, result } satisfies CleanupCursor);
  }
  return result;
}

/** The heartbeat of a cleanup: the next wave to delete (in reverse order) and what was done so far. */
interface CleanupCursor {
  wave: number;
  result?: CleanupResult;
}

const MAX_EXAMPLES = 20;
