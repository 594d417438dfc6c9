// Named clusters: the worker maps each name in a request to credentials it holds itself.
import * as k8s from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/activity';
import type { ClusterConfig } from '../config/worker-config.js';
import { KubeRest } from './kube-rest.js';

/**
 * Requests per second per API server unless the config says otherwise: far above client-go's default
 * of 5 (kubectl's 50), below what a control plane takes before its own fairness limits answer 429.
 */
const DEFAULT_QPS = 200;
/** Requests in flight to one API server from one bulk activity (a restore wave's writes, a backup's lists). */
export const DEFAULT_CONCURRENCY = 32;

export interface Cluster {
  name: string;
  kc: k8s.KubeConfig;
  discovery: k8s.DiscoveryV1Api;
  /** Raw JSON access, rate-limited: what moves objects (the typed clients drop fields they do not know). */
  rest: KubeRest;
  server: string;
  /** Requests a bulk activity keeps in flight to this API server. */
  concurrency: number;
}

export class ClusterRegistry {
  private readonly cache = new Map<string, Cluster>();

  constructor(private readonly configs: Record<string, ClusterConfig>) {}

  names(): string[] {
    return Object.keys(this.configs).sort();
  }

  /** The cluster of that name, or a non-retryable failure listing the names the worker knows. */
  get(name: string): Cluster {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const config = this.configs[name];
    if (!config) {
      throw ApplicationFailure.nonRetryable(
        `unknown cluster "${name}": this worker knows ${this.names().map((n) => `"${n}"`).join(', ')}. ` +
          `Add it under 'clusters:' in the worker config, or fix the name in the request.`,
        'UnknownCluster',
      );
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(config.kubeconfig);
    if (config.context) kc.setCurrentContext(config.context);
    const cluster: Cluster = {
      name,
      kc,
      discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
      rest: new KubeRest(kc, {
        qps: config.qps ?? DEFAULT_QPS,
        burst: config.burst ?? (config.qps ?? DEFAULT_QPS) * 2,
        maxSockets: Math.max(32, config.concurrency ?? DEFAULT_CONCURRENCY),
      }),
      server: kc.getCurrentCluster()?.server ?? '(unknown server)',
      concurrency: config.concurrency ?? DEFAULT_CONCURRENCY,
    };
    this.cache.set(name, cluster);
    return cluster;
  }
}

/** HTTP status of a failed Kubernetes API call, if it was one. */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The API server did not answer, or answered that it cannot serve now (429, 5xx): the call may succeed
 * later. Anything else (a 4xx about the object, an ApplicationFailure) is an answer about the call.
 */
export function apiUnavailable(err: unknown): boolean {
  const status = apiStatus(err);
  if (status !== undefined) return status === 429 || status >= 500;
  const code = (err as { code?: unknown })?.code;
  // Socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT...; not Node's ERR_* such as a bad certificate)
  // and the client's own no-answer timeout.
  return (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || /no answer from .* within/.test((err as Error)?.message ?? '');
}

/** The API server's own message of a failed call, for people. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  }
  return err instanceof Error ? err.message : String(err);
}
