// Turns progress, plans, listings and results into what an operator reads at a terminal: aligned
// tables, progress bars, colour only where the output is a terminal. Pure: returns strings.
import { formatDuration } from '../domain/duration.js';
import type { BackupListing, BackupSummary, PlanReport } from '../activities/contract.js';
import type { MigrationListing } from '../client.js';
import type { MigrationProgress } from '../workflows/messages.js';
import type { MigrationResult } from '../workflows/migrate-cluster.js';
import type { CleanupReport } from '../workflows/cleanup.js';

export interface Style {
  color: boolean;
  /** Block characters for bars; plain `#`/`-` in logs and dumb terminals. */
  unicode: boolean;
}

export const PLAIN: Style = { color: false, unicode: false };

/** Colour and Unicode only on a terminal, and never when NO_COLOR is set or TERM is dumb (FORCE_COLOR wins). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const tty = Boolean(stream.isTTY) && env.TERM !== 'dumb';
  const color = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' ? true : tty && env.NO_COLOR === undefined;
  return { color, unicode: tty };
}

const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, cyan: 36 } as const;
export const paint = (s: Style, code: keyof typeof SGR, text: string) => (s.color && text ? `\u001b[${SGR[code]}m${text}\u001b[0m` : text);
// eslint-disable-next-line no-control-regex
const visible = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '').length;

/** Left-aligned columns, padded to the widest cell; numbers right-aligned. */
export function table(headers: string[], rows: (string | number)[][], s: Style = PLAIN): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visible(r[i] ?? ''))));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: string[]) => r.map((c, i) => {
    const pad = ' '.repeat(Math.max(0, widths[i]! - visible(c)));
    return numeric[i] ? pad + c : c + pad;
  }).join('  ').trimEnd();
  return [paint(s, 'bold', line(headers)), ...cells.map(line)].join('\n');
}

export function bar(fraction: number, s: Style, width = 24): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  const [on, off] = s.unicode ? ['█', '░'] : ['#', '-'];
  return paint(s, f >= 1 ? 'green' : 'cyan', on.repeat(full)) + paint(s, 'dim', off.repeat(width - full));
}

const PHASE_COLOR: Partial<Record<MigrationProgress['phase'], keyof typeof SGR>> = {
  completed: 'green', failed: 'red', 'rolled-back': 'yellow', 'rolling-back': 'yellow',
};

const until = (iso: string | undefined, now: number) => {
  if (!iso) return undefined;
  const ms = Date.parse(iso) - now;
  return ms > 0 ? `in ${formatDuration(ms)}` : 'now';
};

/** The live view of `status` and `status --watch`: one bar per stage, one per route. */
export function progressView(p: MigrationProgress, s: Style, now = Date.now()): string {
  const phase = paint(s, PHASE_COLOR[p.phase] ?? 'blue', p.phase);
  const flags = [p.paused ? paint(s, 'yellow', 'PAUSED') : '', p.rollbackRequested ? paint(s, 'yellow', 'rollback requested') : ''].filter(Boolean).join(' ');
  const o = p.objects;
  const restored = o.restored + o.skipped + o.updated;
  const lines = [
    `${paint(s, 'bold', p.migrationId)}  ${p.task}  phase ${phase}${flags ? `  ${flags}` : ''}${p.backupId ? `  backup ${p.backupId}` : ''}`,
  ];
  const row = (label: string, fraction: number, text: string) => lines.push(`  ${label.padEnd(10)} ${bar(fraction, s)} ${text}`);
  if (p.task !== 'restore') {
    const backupDone = !['validating', 'connectivity', 'planning', 'backup'].includes(p.phase);
    row('backup', backupDone ? 1 : o.total ? o.backedUp / o.total : 0, `${o.backedUp} objects${backupDone ? '' : ' so far'}`);
  }
  if (p.task !== 'backup' && p.task !== 'plan') {
    row('restore', p.waves.total ? p.waves.done / p.waves.total : 0,
      `wave ${p.waves.done}/${p.waves.total}, ${restored}/${o.total} objects` +
      `${o.skipped ? ` (${o.skipped} already there)` : ''}${o.failed ? paint(s, 'red', ` ${o.failed} failed`) : ''}`);
    row('readiness', p.readiness.total ? p.readiness.ready / p.readiness.total : 0,
      `${p.readiness.ready}/${p.readiness.total} workloads ready (grayscale ratio ${p.readiness.percent}%)`);
    lines.push(...notReadyLines(p, s));
  }
  if (p.routes.length) {
    const next = until(p.step.nextAt, now);
    lines.push(`  traffic    step ${p.step.index}/${p.step.total}${next && p.phase === 'traffic' && !p.paused ? `, next step ${next}` : ''}` +
      `${p.cutoverAt && !p.cutover ? `, full cutover ${until(p.cutoverAt, now)}` : ''}${p.cutover ? `, cut over by ${p.cutover.by === 'promote' ? 'promote --full' : 'the time threshold'}` : ''}`);
    const width = Math.max(8, ...p.routes.map((r) => r.name.length));
    for (const r of p.routes) {
      lines.push(`    ${r.name.padEnd(width)} ${bar(r.weight / 100, s)} ${String(r.weight).padStart(3)}% to target  (${r.ready}/${r.total} ready)`);
    }
  }
  if (p.pendingApproval) {
    lines.push(paint(s, 'yellow', `  waiting    step ${p.pendingApproval.step} (${p.pendingApproval.weight}%) needs approval: kubeferry approve ${p.migrationId} ${p.pendingApproval.step}`));
  }
  lines.push(...admissionLines(p, s));
  if (p.cleanup) lines.push(`  cleanup    ${p.cleanup.deleted} deleted from the target, ${p.cleanup.failed} failed`);
  for (const e of p.errors.slice(-5)) lines.push(paint(s, 'red', `  error      ${e}`));
  if (p.errors.length > 5) lines.push(`  (${p.errors.length - 5} earlier errors: --output json shows all)`);
  return lines.join('\n');
}

/** The admission preflight: how many workloads' pods the target would admit, and each refusal. */
function admissionLines(p: MigrationProgress, s: Style, max = 5): string[] {
  const a = p.admission;
  if (!a) return [];
  if (a.refused === 0) return [`  admission  the target admits the pods of all ${a.checked} workloads (dry run)`];
  const color = a.mode === 'warn' ? 'yellow' : 'red';
  return [
    paint(s, color, `  admission  the target would refuse the pods of ${a.refused} of ${a.checked} workloads${a.mode === 'warn' ? ' (admission: warn, going on)' : ''}`),
    ...a.refusals.slice(0, max).map((r) => paint(s, color, `    ${r.workload}: ${r.message}`)),
  ];
}

/** Each workload not ready in the target, with the cause its signals tell (the first five). */
function notReadyLines(p: MigrationProgress, s: Style, max = 5): string[] {
  const causes = p.readiness.notReady ?? [];
  const lines = causes.slice(0, max).map((c) => paint(s, 'yellow', `  not ready  ${c.workload}: ${c.cause}`));
  if (causes.length > max) lines.push(`  (${causes.length - max} more not ready: --output json shows all)`);
  return lines;
}

/** A restore reads a backup it did not take: its size is the objects it holds, not what this run backed up. */
const backupLine = (backupId: string, p: MigrationProgress) =>
  p.task === 'restore' ? `${backupId}: ${p.objects.total} objects (restored from it)` : `${backupId}: ${p.objects.backedUp} objects`;

/** What an ended migration left behind, for `kubeferry status`: a cleanup, and what is still in the target. */
export interface EndedMigration {
  migrationId: string;
  /** The workflow's status: COMPLETED, FAILED, TERMINATED, ... */
  status: string;
  closedAt?: Date;
  /** Completed, RolledBack or Planned, when it returned a result. */
  resultStatus?: string;
  failure?: string;
  progress?: MigrationProgress;
  cleanup?: { status: string; report?: { deleted: number; kept?: number; failed: number; finishedAt: string }; failure?: string };
}

/** Objects this migration created in the target that no cleanup has removed (as far as its history tells). */
export function stillInTarget(m: EndedMigration): number | undefined {
  const p = m.progress;
  if (!p || p.task === 'backup' || p.task === 'plan') return undefined;
  const removed = Math.max(p.cleanup?.deleted ?? 0, m.cleanup?.report?.deleted ?? 0);
  return Math.max(0, p.objects.restored - removed);
}

/** The commands that make sense next for an ended migration. */
export function nextCommands(m: EndedMigration): string[] {
  const id = m.migrationId;
  const p = m.progress;
  const left = stillInTarget(m);
  const next: string[] = [];
  const onTarget = (p?.routes ?? []).some((r) => r.weight > 0);
  if (m.cleanup?.status === 'RUNNING') return [`kubeferry status ${id}   (its cleanup is running)`];
  if (p?.task === 'plan') return [`kubeferry start <request> --id <new-id>   to migrate what the plan showed`];
  if (p?.task === 'backup' && m.resultStatus === 'Completed') {
    return [`kubeferry backups describe ${p.backupId ?? id}`, `kubeferry start --task restore --backup ${p.backupId ?? id} --target <cluster> -n <namespaces>   to restore it`];
  }
  if (left === undefined || left > 0 || m.cleanup?.failure) {
    if (m.resultStatus === 'Completed') {
      next.push(`kubeferry cleanup ${id} --force   to undo it: ${onTarget ? 'moves its traffic back to the source, then ' : ''}deletes the ${left ?? 'objects'} it created in the target`);
    } else if (left !== 0) {
      next.push(`kubeferry cleanup ${id}   removes the ${left ?? ''}${left === undefined ? 'objects' : ` object${left === 1 ? '' : 's'}`} it created in the target (what existed before stays)`);
    }
  }
  if (m.resultStatus !== 'Completed') next.push(`kubeferry start <request> --id <new-id>   to try again (an id is never reused)`);
  return next;
}

/** `kubeferry status` of an ended migration: its whole summary, and what to do next. */
export function endedView(m: EndedMigration, s: Style): string {
  const p = m.progress;
  const color = m.resultStatus === 'Completed' || m.resultStatus === 'Planned' ? 'green' : m.resultStatus === 'RolledBack' ? 'yellow' : 'red';
  const how = m.resultStatus ?? m.status;
  const lines = [`${paint(s, 'bold', m.migrationId)}: ${paint(s, color, how)}${m.closedAt ? ` at ${m.closedAt.toISOString()}` : ''}${p ? `  ${p.task}, ended in phase ${p.phase}` : ''}`];
  if (m.failure) lines.push(paint(s, 'red', `  failure    ${m.failure}`));
  if (!p) {
    lines.push('  (this migration\'s history holds no final progress: it ended before that was recorded, or was terminated)');
  } else {
    if (p.backupId && p.task !== 'plan') lines.push(`  backup     ${backupLine(p.backupId, p)}`);
    if (p.task !== 'backup' && p.task !== 'plan') {
      const o = p.objects;
      lines.push(`  objects    ${o.restored} created, ${o.updated} updated, ${o.skipped} already there (left as they were)` +
        `${o.differing ? `, ${o.differing} of them differ from the backup` : ''}, ${o.failed} failed, in ${p.waves.done} of ${p.waves.total} waves`);
      const left = stillInTarget(m)!;
      const removed = [
        p.cleanup ? `the rollback's cleanup removed ${p.cleanup.deleted}` : '',
        m.cleanup?.report ? `kubeferry cleanup removed ${m.cleanup.report.deleted} (kept ${m.cleanup.report.kept ?? 0}) at ${m.cleanup.report.finishedAt}` : '',
        m.cleanup?.failure ? paint(s, 'red', `kubeferry cleanup failed: ${m.cleanup.failure}`) : '',
      ].filter(Boolean);
      lines.push(`  in target  ${left} created by it and still there${removed.length ? `; ${removed.join('; ')}` : ''}`);
      lines.push(`  readiness  ${p.readiness.ready} of ${p.readiness.total} workloads ready`);
      lines.push(...notReadyLines(p, s));
    }
    if (p.routes.length) {
      const onTarget = p.routes.filter((r) => r.weight > 0);
      const where = onTarget.length === 0 ? 'all on the source' : onTarget.every((r) => r.weight === 100) && onTarget.length === p.routes.length ? 'all on the target' : 'split';
      const by = p.cutover ? ` (cut over by ${p.cutover.by === 'promote' ? 'promote --full' : 'the time threshold'})` : '';
      lines.push(`  traffic    ${m.cleanup?.report ? 'all on the source (the cleanup moved every route back)' : `${where}${by}`}`);
      for (const r of p.routes) lines.push(`  route      ${r.name}: ${m.cleanup?.report ? 0 : r.weight}% to the target`);
    }
    lines.push(...admissionLines(p, s));
    if (p.leftOut && Object.keys(p.leftOut).length) lines.push(`  left out   ${Object.entries(p.leftOut).map(([why, n]) => `${n} ${why}`).join('; ')}`);
    for (const e of p.errors.slice(-10)) lines.push(paint(s, 'red', `  error      ${e}`));
  }
  const next = nextCommands(m);
  if (next.length) lines.push('  next', ...next.map((c) => `    ${c}`));
  return lines.join('\n');
}

/** What `kubeferry cleanup` removed and kept. */
export function cleanupView(r: CleanupReport, s: Style): string {
  const lines = [`${paint(s, 'bold', r.migrationId)}: cleaned up at ${r.finishedAt}`];
  if (r.routes.length) lines.push(`  traffic    ${r.routes.map((x) => `${x.name} ${x.weight}%`).join(', ')} to the target (back on the source)`);
  lines.push(`  removed    ${r.deleted} object${r.deleted === 1 ? '' : 's'}${r.removed?.length ? `: ${r.removed.map((k) => `${k.kind} ${k.count}`).join(', ')}` : ''}`);
  lines.push(`  kept       ${r.kept ?? 0}${r.keptExamples?.length ? `: ${r.keptExamples.join('; ')}` : ''} (objects that were not there before it are the only ones removed)`);
  if (r.failed) lines.push(paint(s, 'red', `  failed     ${r.failed}: ${r.errors.join('; ')}`));
  return lines.join('\n');
}

/** What a finished migration did, printed when `start --watch` or `status --watch` ends. */
export function resultView(r: MigrationResult, s: Style, elapsedMs?: number): string {
  const p = r.progress;
  const color = r.status === 'RolledBack' ? 'yellow' : 'green';
  const lines = [`${paint(s, 'bold', r.migrationId)}: ${paint(s, color, r.status)}${elapsedMs !== undefined ? ` after ${formatDuration(elapsedMs)}` : ''}`];
  if (r.backupId) lines.push(`  backup     ${backupLine(r.backupId, p)}`);
  if (p.task !== 'backup' && p.task !== 'plan') {
    lines.push(`  restore    ${p.objects.restored} created, ${p.objects.updated} updated, ${p.objects.skipped} already there` +
      `${p.objects.differing ? ` (${p.objects.differing} differ from the backup)` : ''}, ${p.objects.failed} failed, in ${p.waves.done}/${p.waves.total} waves`);
    lines.push(`  readiness  ${p.readiness.ready}/${p.readiness.total} workloads ready`);
  }
  for (const route of p.routes) lines.push(`  route      ${route.name}: ${route.weight}% to the target`);
  if (p.cutover?.heldBack.length) lines.push(`  held back  ${p.cutover.heldBack.join(', ')} (no ready workload at the ${p.cutover.by === 'promote' ? 'full promotion' : 'threshold'})`);
  if (p.cleanup) lines.push(`  cleanup    ${p.cleanup.deleted} deleted, ${p.cleanup.failed} failed`);
  if (p.leftOut && Object.keys(p.leftOut).length) {
    lines.push(`  left out   ${Object.entries(p.leftOut).map(([why, n]) => `${n} ${why}`).join('; ')}`);
  }
  for (const e of p.errors) lines.push(paint(s, 'red', `  error      ${e}`));
  return lines.join('\n');
}

/** The dry run: what would be restored, in which waves, what is left out and why, what is in the way. */
export function planView(plan: PlanReport, s: Style): string {
  const out: string[] = [];
  out.push(`${paint(s, 'bold', 'Plan')}: ${plan.objects} objects in ${plan.namespaces.length} namespaces (${plan.namespaces.join(', ')}), ` +
    `${plan.workloads} workloads, ${plan.waves.length} waves; source Kubernetes ${plan.sourceVersion}`);
  out.push('', table(['WAVE', 'OBJECTS', 'KINDS', 'EXAMPLES'], plan.waves.map((w, i) => [
    w.index + 1, w.count, w.kinds.join(', '), (plan.waveExamples[i] ?? []).map(readableId).join(', ') + (w.count > (plan.waveExamples[i]?.length ?? 0) ? ', ...' : ''),
  ]), s));
  out.push('', table(['KIND', 'OBJECTS'], [...plan.kinds].sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1)).map((k) => [k.kind, k.count]), s));
  if (plan.leftOut.length || plan.leftOutTypes.length) {
    out.push('', paint(s, 'bold', 'Left out'));
    if (plan.leftOut.length) out.push(table(['REASON', 'OBJECTS', 'EXAMPLES'], plan.leftOut.map((l) => [l.reason, l.count, l.examples.join(' ')]), s));
    // The never-copied types are the same for every plan: named, with reasons in --output json.
    if (plan.leftOutTypes.length) out.push(`${plan.leftOutTypes.length} types never copied: ${plan.leftOutTypes.map((t) => t.type).join(', ')}`);
  }
  const problems: string[] = [];
  const notes: string[] = [];
  if (plan.notServedByTarget.length) problems.push(paint(s, 'red', `the target does not serve: ${plan.notServedByTarget.join(', ')} (install their CRDs or API first)`));
  if (plan.conflicts) problems.push(paint(s, 'yellow', `${plan.conflicts} objects already exist in the target: ${plan.conflictExamples.join(' ')}${plan.conflicts > plan.conflictExamples.length ? ' ...' : ''}`));
  if (plan.brokenCycles.length) problems.push(`reference cycles broken: ${plan.brokenCycles.map((e) => `${readableId(e.from)} no longer waits for ${readableId(e.to)}`).join('; ')}`);
  if (plan.outside) problems.push(`${plan.outside} references point outside the selection (they must already exist in the target)`);
  const a = plan.admission;
  if (a?.refused) {
    problems.push(paint(s, 'red', `the target would refuse the pods of ${a.refused} of ${a.checked} workloads (dry run in ${a.namespacesChecked.join(', ')}):`));
    problems.push(...a.refusals.map((r) => paint(s, 'red', `  ${r.workload}: ${r.message}`)));
  } else if (a?.checked) {
    notes.push(`admission: the target would admit the pods of all ${a.checked} workloads in ${a.namespacesChecked.join(', ')} (dry run)`);
  }
  if (a?.notChecked) notes.push(`admission: ${a.notChecked} workloads are in namespaces the target does not have yet; a migration dry-runs them once their quotas and limits are restored`);
  out.push('', problems.length ? problems.join('\n') : paint(s, 'green', 'no conflicts in the target; every type is served there'));
  if (notes.length) out.push(...notes);
  return out.join('\n');
}

/** "Deployment/shop/web" as people write it: "Deployment shop/web"; cluster-scoped "Namespace shop". */
export function readableId(id: string): string {
  const [kind = '', namespace = '', ...name] = id.split('/');
  return `${kind} ${namespace ? `${namespace}/` : ''}${name.join('/')}`;
}

export function migrationsTable(list: MigrationListing[], s: Style): string {
  if (list.length === 0) return 'no migrations found';
  return table(['MIGRATION', 'STATUS', 'TASK', 'PHASE', 'WEIGHT', 'READY', 'SOURCE', 'TARGET', 'STARTED'], list.map((m) => [
    m.migrationId, m.status, m.task ?? '', m.phase ?? '', m.trafficWeight === undefined ? '' : `${m.trafficWeight}%`,
    m.readyPercent === undefined ? '' : `${m.readyPercent}%`, m.sourceCluster ?? '', m.targetCluster ?? '', m.startTime.toISOString(),
  ]), s);
}

export function backupsTable(list: BackupListing[], s: Style): string {
  if (list.length === 0) return 'no backups found';
  return table(['BACKUP', 'STATUS', 'SOURCE', 'OBJECTS', 'COMPLETED', 'MIGRATION'], list.map((b) => [
    b.backupId, b.status === 'unreadable' ? `unreadable: ${b.problem ?? ''}` : b.status, b.sourceCluster ?? '', b.objects ?? '', b.completedAt ?? '', b.migrationId ?? '',
  ]), s);
}

export function backupView(b: BackupSummary, s: Style): string {
  return [
    `${paint(s, 'bold', b.backupId)}: ${b.objects} objects from ${b.sourceCluster} (Kubernetes ${b.sourceVersion}), completed ${b.completedAt}`,
    `namespaces: ${b.namespaces.join(', ')}; workloads: ${b.workloads}; cycles broken: ${b.plan.brokenCycles}; references outside: ${b.plan.outside}`,
    '',
    table(['WAVE', 'OBJECTS', 'KINDS'], b.waves.map((w) => [w.index + 1, w.count, w.kinds.join(', ')]), s),
    '',
    table(['KIND', 'OBJECTS'], b.kinds.map((k) => [k.kind, k.count]), s),
    ...(Object.keys(b.leftOut).length ? ['', table(['LEFT OUT', 'OBJECTS'], Object.entries(b.leftOut).map(([why, n]) => [why, n]), s)] : []),
  ].join('\n');
}
