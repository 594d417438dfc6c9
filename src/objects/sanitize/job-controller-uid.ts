import type { SanitizeRule } from './rule.js';

/** The labels the API server derives from a Job's uid, in their legacy and current form. */
export const CONTROLLER_UID_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid'] as const;

interface JobSpec {
  manualSelector?: boolean;
  selector?: unknown;
  template?: { metadata?: { labels?: Record<string, string> } };
}

/**
 * Unless `manualSelector` is set, the API server generates a Job's `spec.selector` and its template's
 * `controller-uid` labels (copied to the Job's own labels too) from the Job's uid. The source's uid means
 * nothing in the target, which refuses a selector it did not generate; so the selector and those labels
 * go, and the target generates them from the new uid. The `job-name` labels are left: same name, same
 * value. A manual selector is the user's and stays as written.
 */
export const jobControllerUid: SanitizeRule = (obj) => {
  if (obj.kind !== 'Job') return;
  const spec = obj.spec as JobSpec | undefined;
  if (!spec || spec.manualSelector === true) return;
  delete spec.selector;
  dropLabels(spec.template?.metadata);
  dropLabels(obj.metadata);
};

function dropLabels(meta: { labels?: Record<string, string> } | undefined): void {
  if (!meta?.labels) return;
  for (const label of CONTROLLER_UID_LABELS) delete meta.labels[label];
  if (Object.keys(meta.labels).length === 0) delete meta.labels;
}
