// A steady HTTP load through the traffic splitter, counting every answer by status and by the cluster
// that served it. Bounded: it stops when told or after `maxSeconds`.

export interface LoadReport {
  requests: number;
  ok: number;
  failed: number;
  /** Answers by the cluster whose entry point served them (its x-served-by header). */
  byCluster: Record<string, number>;
  /** Answers by the pod that served them, as "cluster/pod" from the body (real pods name themselves). */
  byPod: Record<string, number>;
  failures: string[];
  /**
   * [ms since start, cluster or 'error', the cluster the answering pod names in its body or ''] of each
   * answer, to see the split at each moment.
   */
  timeline: [number, string, string][];
}

export function startLoad(url: string, { concurrency = 4, maxSeconds = 600 } = {}) {
  const report: LoadReport = { requests: 0, ok: 0, failed: 0, byCluster: {}, byPod: {}, failures: [], timeline: [] };
  const started = Date.now();
  let stopping = false;
  const loop = async () => {
    while (!stopping && Date.now() - started < maxSeconds * 1000) {
      report.requests += 1;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { cluster?: string; pod?: string; error?: string };
        const cluster = res.headers.get('x-served-by') ?? 'unknown';
        if (res.ok) {
          report.ok += 1;
          report.byCluster[cluster] = (report.byCluster[cluster] ?? 0) + 1;
          const pod = body.pod && `${body.cluster}/${body.pod}`;
          if (pod) report.byPod[pod] = (report.byPod[pod] ?? 0) + 1;
          report.timeline.push([Date.now() - started, cluster, body.pod ? (body.cluster ?? '') : '']);
        } else {
          report.failed += 1;
          report.timeline.push([Date.now() - started, 'error', '']);
          if (report.failures.length < 20) report.failures.push(`${res.status} from ${cluster}: ${body.error ?? ''}`);
        }
      } catch (err) {
        report.failed += 1;
        report.timeline.push([Date.now() - started, 'error', '']);
        if (report.failures.length < 20) report.failures.push(String(err));
      }
    }
  };
  const loops = Promise.all(Array.from({ length: concurrency }, loop));
  return {
    report,
    startedAt: started,
    async stop(): Promise<LoadReport> {
      stopping = true;
      await loops;
      return report;
    },
  };
}

/** Waits until `url` answers 200 (the app is reachable through the splitter), or fails after `timeoutMs`. */
export async function waitServing(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000}s; last answer: ${last}`);
}
