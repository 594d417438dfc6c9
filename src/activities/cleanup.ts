// Cleanup after a rollback, or of any ended migration (`kubeferry cleanup`): delete what this migration
// created in the target, in the reverse order of the restore plan (routes and workloads before the config
// and identities they use, Namespaces and CRDs last). What it created is what the restore recorded beside
// the backup (created-records.ts), by uid; the migration's label only finds the candidates, and an object
// that carries it without a record (a copy of one kubeferry made) is kept and named. Objects that existed
// before and were only updated are put back as they were; objects another run of the same id created are
// kept, and so is a Namespace or CRD that holds objects others made (cleanup-guards.ts). Deletes carry the
// uid as a precondition. Idempotent: an object already gone counts as deleted.
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
import { apiMessage, withApiRetry } from '../kube/errors.js';
import { readOverwritten } from '../store/overwritten.js';
import { ledgerKey, readCreated } from '../store/created-records.js';
import { putBack } from './conflicts.js';
import { deleteExactly, foreignCustomResources, foreignObjectsIn } from './cleanup-guards.js';
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
  const ledger = await readCreated(store, keys, input.storage, input.backupId, input.migrationId, input.runId);
  if (ledger.unusable.length && !resumed) {
    result.errors.push(`${ledger.unusable.length} record(s) of what the restore created cannot be used, so the objects they name are kept: ${ledger.unusable.slice(0, 3).join('; ')}`);
  }
  // What the records say of an object carrying the migration's label: created (the recorded uid),
  // replaced (another uid), unrecorded, or unknown (its chunk was cut short before it recorded uids: then
  // the run annotation decides).
  const recorded = (typeName: string, o: RawObject): 'created' | 'replaced' | 'unrecorded' | 'unknown' => {
    const uid = ledger.objects.get(ledgerKey(typeName, o.metadata?.namespace, o.metadata!.name!));
    if (uid === undefined) return 'unrecorded';
    if (uid === null) return 'unknown';
    return uid === o.metadata?.uid ? 'created' : 'replaced';
  };
  // For a Namespace about to go: a labelled object in it is the migration's own when recorded (or when
  // nothing was recorded at all: a restore from before records were kept). Anything else keeps it.
  const ours = (typeName: string, o: RawObject) => ledger.waves.size === 0 || ['created', 'unknown'].includes(recorded(typeName, o));

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
            if (m.annotations?.[PRE_EXISTING_ANNOTATION] === 'true') {
              // Overwritten by an "update": put back as it was, from the copy the restore kept.
              const original = await readOverwritten(store, keys, {
                storage: input.storage, backupId: input.backupId, migrationId: input.migrationId, type: type.name, namespace: m.namespace, name: m.name!,
              });
              if (original) await withApiRetry(() => putBack(target, type, original));
              keep({ ...o, kind: type.kind }, original ? 'it existed before the migration; put back as it was' : 'it existed before the migration');
            }
            else if (input.runId && m.annotations?.[MIGRATION_RUN_ANNOTATION] && m.annotations[MIGRATION_RUN_ANNOTATION] !== input.runId) {
              keep({ ...o, kind: type.kind }, 'another run of this migration id created it');
            } else {
              // A wave restored before records were kept is known by its label only.
              const how = ledger.waves.has(w) ? recorded(type.name, o) : 'unknown';
              if (how === 'unrecorded') keep({ ...o, kind: type.kind }, "it carries the migration's label, but the restore recorded creating no such object (a copy of one it made?)");
              else if (how === 'replaced') keep({ ...o, kind: type.kind }, 'replaced by another object of that name since the migration created it');
              else doomed.push(o);
            }
          }
        }
        for (const o of doomed) {
          if (Context.current().cancellationSignal.aborted) throw new CancelledFailure('cleanup cancelled');
          const what = { ...o, kind: type.kind };
          const fail = (why: string) => {
            result.failed += 1;
            if (result.errors.length < 20) result.errors.push(`${type.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}: ${why}`);
          };
          try {
            // A Namespace or CRD the migration created, holding what others put there since: deleting it
            // would take their objects along, so it stays, named with what it holds.
            const others = type.kind === 'Namespace' ? await foreignObjectsIn(target, o.metadata!.name!, { selector, ours })
              : type.kind === 'CustomResourceDefinition' ? await foreignCustomResources(target, o) : [];
            if (others.length) {
              keep(what, `it holds objects the migration did not create: ${others.join(', ')}`);
              continue;
            }
            const done = await deleteExactly(target, type, o);
            if (done.outcome === 'replaced') keep(what, 'replaced by another object of that name since the migration created it');
            else if (done.outcome === 'stuck') fail(`still there, held by finalizer(s) ${done.finalizers.join(', ')} that nothing in the target removes; remove them, or run their controller`);
            else {
              result.deleted += 1;
              removed(type.kindKey);
            }
          } catch (err) {
            fail(apiMessage(err));
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
