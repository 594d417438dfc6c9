// A restore restores a whole backup: it never silently restores more than the request selects. Until a
// restore can take part of a backup, a request whose selection is narrower than the backup's (fewer
// namespaces, other resource types, another label selector) is refused, saying what the backup holds.
import { selectNamespaces, type NamespaceFilter } from './namespace-selection.js';

export interface RequestSelection {
  namespaces: NamespaceFilter;
  resources: { include: string[]; exclude: string[] };
  labelSelector?: string;
  allowSystemNamespaces?: boolean;
}

export interface BackupSelection {
  backupId: string;
  /** The namespaces the backup holds. */
  namespaces: readonly string[];
  filters: { resources: { include: string[]; exclude: string[] }; labelSelector?: string };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
const allTypes = (r: { include: string[]; exclude: string[] }) => r.include.length === 1 && r.include[0] === '*' && r.exclude.length === 0;

/** Why the request selects less (or other) than the backup holds, or undefined when it selects all of it. */
export function restoreSelectionProblem(request: RequestSelection, backup: BackupSelection): string | undefined {
  const problems: string[] = [];
  const selected = selectNamespaces(request, backup.namespaces);
  const left = backup.namespaces.filter((ns) => !selected.includes(ns));
  if (left.length) {
    problems.push(`namespaces ${JSON.stringify(request.namespaces.include)}${request.namespaces.exclude.length ? ` minus ${JSON.stringify(request.namespaces.exclude)}` : ''} ` +
      `leave out ${left.join(', ')} of the backup's ${backup.namespaces.join(', ')}`);
  }
  if (!allTypes(request.resources) && !(sameList(request.resources.include, backup.filters.resources.include) && sameList(request.resources.exclude, backup.filters.resources.exclude))) {
    problems.push(`resources ${JSON.stringify(request.resources)} differ from the backup's ${JSON.stringify(backup.filters.resources)}`);
  }
  if (request.labelSelector && request.labelSelector !== backup.filters.labelSelector) {
    problems.push(`labelSelector "${request.labelSelector}" differs from the backup's ${backup.filters.labelSelector ? `"${backup.filters.labelSelector}"` : '(none)'}`);
  }
  if (!problems.length) return undefined;
  return `a restore restores all of backup "${backup.backupId}", and this request selects less: ${problems.join('; ')}. ` +
    `Select all of it (namespaces.include ${JSON.stringify(backup.namespaces)}, no resources or labelSelector of its own), ` +
    'or take a backup of just what you want restored.';
}
