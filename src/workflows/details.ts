// What the Temporal Web UI shows as the migration's current details: a small markdown progress table.
// Counts are written "3 of 5": the UI's markdown renderer draws "3/5" as a typographic fraction.
import type { MigrationProgress } from './messages.js';

export function renderDetails(p: MigrationProgress): string {
  const lines = [
    `**${p.phase}**${p.paused ? ' (paused)' : ''}${p.rollbackRequested ? ' (rollback requested)' : ''}`,
    '',
    '| stage | progress |',
    '|---|---|',
    `| objects | ${p.objects.restored} restored, ${p.objects.updated} updated, ${p.objects.skipped} skipped (${p.objects.differing} differ), ${p.objects.failed} failed of ${p.objects.total} (backed up ${p.objects.backedUp}) |`,
    `| waves | ${p.waves.done} of ${p.waves.total} done |`,
    `| ready | ${p.readiness.ready} of ${p.readiness.total} workloads (${p.readiness.percent}%) |`,
    `| step | ${p.step.index} of ${p.step.total}${p.step.nextAt ? `, next at ${p.step.nextAt}` : ''} |`,
    ...p.routes.map((r) => `| route ${r.name} | ${r.weight}% to target, ${r.ready} of ${r.total} ready |`),
    ...(p.admission ? [`| admission | ${p.admission.refused} of ${p.admission.checked} workloads' pods refused by a dry run${p.admission.refused && p.admission.mode === 'warn' ? ' (warn: going on)' : ''} |`] : []),
  ];
  const leftOut = Object.entries(p.leftOut ?? {});
  if (leftOut.length) lines.push('', `Left out: ${leftOut.map(([reason, n]) => `${n} ${reason}`).join('; ')}`);
  if (p.plan?.brokenCycles) lines.push('', `Reference cycles broken: ${p.plan.brokenCycles} reference(s) dropped (see plan.json)`);
  const causes = p.readiness.notReady ?? [];
  if (causes.length) {
    lines.push('', 'Not ready in the target, and why:', ...causes.slice(0, 5).map((c) => `- ${c.workload}: ${escapeMarkdown(c.cause)}`));
    if (causes.length > 5) lines.push(`- and ${causes.length - 5} more (kubeferry status shows them)`);
  }
  if (p.admission?.refusals.length) {
    lines.push('', 'Refused by the target\'s admission (dry run):', ...p.admission.refusals.slice(0, 5).map((r) => `- ${r.workload}: ${escapeMarkdown(r.message)}`));
  }
  if (p.errors.length) lines.push('', `Errors: ${p.errors.slice(-3).join('; ')}`);
  if (p.differences.length) lines.push('', `Differ from the backup, left as they are: ${p.differences.slice(-3).join('; ')}`);
  return lines.join('\n');
}

/** The cluster's messages hold quotes, brackets and asterisks; shown as they are, not as markdown. */
function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_[\]<>|])/g, '\\$1');
}
