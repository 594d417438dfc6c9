// Progress math: how far the migration has come, as the traffic plan needs it.

export interface ReadinessCount {
  ready: number;
  total: number;
  /** The same in replicas (ready replicas of ready-or-not workloads / wanted replicas), for a ratio weighted by replicas. */
  replicas?: { ready: number; total: number };
}

/**
 * Grayscale ratio: ready target workloads / all workloads being migrated, in [0, 1].
 * With nothing to migrate the target is as ready as it will get.
 */
export function grayscaleRatio({ ready, total }: ReadinessCount): number {
  if (total <= 0) return 1;
  return Math.min(1, Math.max(0, ready / total));
}

/** The same ratio as a whole percentage, rounded down so that it never overstates readiness. */
export function readyPercent(count: ReadinessCount): number {
  return Math.floor(grayscaleRatio(count) * 100 + 1e-9);
}
