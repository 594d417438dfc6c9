// Admission preflight: before the first workload is written, the target is asked whether it would admit
// each workload's pods, by a server-side dry run (dryRun=All) of the Pod its controller would create, in
// the namespace it lands in, with that namespace's ResourceQuotas and LimitRanges already in place (the
// waves restore them first). Quotas, LimitRanges, Pod Security admission and validating webhooks answer
// as they would for the controller; nothing is persisted.
import { CancelledFailure, Context } from '@temporalio/activity';
import { heartbeatOrStop } from './cancellation.js';
import { ApplicationFailure } from '@temporalio/common';
import { makesPods, podFor } from '../domain/pod-templates.js';
import type { RawObject } from '../store/backup-format.js';
import type { Cluster, ClusterRegistry } from '../kube/clusters.js';
import type { AdmissionInput, AdmissionRefusal, AdmissionReport } from './contract.js';
import type { BackupKeyring } from '../store/archive-crypto.js';
import type { ObjectStore } from '../store/object-store.js';
import { forEachConcurrently } from '../concurrency.js';
import { CHUNK } from './restore.js';
import { describe } from '../objects/describe.js';
import { sanitize } from '../objects/sanitize/index.js';
import { apiMessage, apiStatus, apiUnavailable, withApiRetry } from '../kube/errors.js';
import { loadArchive, readManifest } from '../store/backup-store.js';
import { FAILURE } from '../domain/failures.js';

const MAX_REFUSALS = 20;
/** A webhook's message can be long; the history keeps the start of it. */
const clip = (text: string, max = 400) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A failed call that is the worker's own access, not the target judging the pod. */
const deniedToWorker = (message: string) => /cannot create resource "pods"/.test(message);

/**
 * The target's refusal of the pods `workload` would create, or undefined when it would admit them.
 * A refusal by admission is an answer; the target not answering is thrown (to be retried).
 */
export async function dryRunPods(target: Cluster, workload: RawObject): Promise<string | undefined> {
  const pod = podFor(workload);
  const namespace = workload.metadata?.namespace;
  if (!pod || !namespace) return undefined;
  try {
    await withApiRetry(() => target.rest.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { query: { dryRun: 'All' }, body: pod }));
    return undefined;
  } catch (err) {
    const message = apiMessage(err);
    if (apiStatus(err) === 403 && deniedToWorker(message)) {
      throw ApplicationFailure.nonRetryable(
        `the credentials for the target cluster "${target.name}" may not create pods, which the admission preflight needs for its dry runs ` +
          `(nothing is created): ${message}. Grant create on pods, or set admission: off in the request.`,
        FAILURE.AccessDenied,
      );
    }
    if (apiStatus(err) === 404) return `namespace ${namespace} does not exist in the target`;
    // A webhook that cannot be called is an answer too (failurePolicy Fail would refuse the controller the same way).
    if (apiUnavailable(err) && !/webhook/i.test(message)) throw err;
    return message;
  }
}

/** Counts one dry run of `workload` ("Kind namespace/name", as named in the source) in `report`, keeping the first refusals. */
export function countDryRun(report: AdmissionReport, workload: string, refusal: string | undefined): void {
  report.checked += 1;
  if (refusal === undefined) return;
  report.refused += 1;
  if (report.refusals.length < MAX_REFUSALS) report.refusals.push({ workload, message: clip(refusal) });
}

/** Refusals in workload order, for a stable report. */
export const byWorkload = (a: AdmissionRefusal, b: AdmissionRefusal) => a.workload.localeCompare(b.workload);

interface AdmissionCursor {
  archive: number;
  offset: number;
  report: AdmissionReport;
}

/** Dry-runs the pods of every workload (and bare Pod) of the backup in the target; resumes from its heartbeat. */
export async function checkAdmission(
  clusters: ClusterRegistry,
  store: ObjectStore,
  keys: BackupKeyring | undefined,
  input: AdmissionInput,
): Promise<AdmissionReport> {
  const ctx = Context.current();
  const manifest = await readManifest(store, input.storage, input.backupId, keys);
  const target = clusters.get(input.target);
  const podTypes = new Set(manifest.types.filter((t) => makesPods({ kind: t.kind, apiVersion: t.group ? `${t.group}/${t.version}` : t.version })).map((t) => t.name));
  const archives = manifest.archives.filter((a) => podTypes.has(a.type));
  const resumed = ctx.info.heartbeatDetails as AdmissionCursor | undefined;
  const cursor: AdmissionCursor = resumed?.report ? resumed : { archive: 0, offset: 0, report: { checked: 0, refused: 0, refusals: [] } };
  const report = cursor.report;
  for (; cursor.archive < archives.length; cursor.archive++, cursor.offset = 0) {
    const objects = await loadArchive(store, input.storage, manifest, archives[cursor.archive]!, keys);
    while (cursor.offset < objects.length) {
      if (ctx.cancellationSignal.aborted) throw new CancelledFailure('admission preflight cancelled');
      const chunk = objects.slice(cursor.offset, cursor.offset + CHUNK);
      await forEachConcurrently(chunk, async (obj) => {
        const landing = sanitize(obj, { migrationId: '', namespaceMapping: input.namespaceMapping });
        // Named as in the source, where the operator knows it; the message says where it would land.
        countDryRun(report, describe(obj), await dryRunPods(target, landing));
      }, target.concurrency);
      cursor.offset += chunk.length;
      heartbeatOrStop(cursor);
    }
  }
  report.refusals.sort(byWorkload);
  return report;
}
