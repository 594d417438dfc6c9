// Named clusters: the worker maps each name in a request to credentials it holds itself.
import * as k8s from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ClusterConfig } from '../config/worker-config.js';
import { KubeRest } from './rest.js';
import { FAILURE } from '../domain/failures.js';

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
        FAILURE.UnknownCluster,
      );
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(config.kubeconfig);
    if (config.context) kc.setCurrentContext(config.context);
    const cluster: Cluster = {
      name,
      kc,
      rest: restFor(name, config, kc),
      server: kc.getCurrentCluster()?.server ?? '(unknown server)',
      concurrency: config.concurrency ?? DEFAULT_CONCURRENCY,
    };
    this.cache.set(name, cluster);
    return cluster;
  }
}

function restFor(name: string, config: ClusterConfig, kc: k8s.KubeConfig): KubeRest {
  try {
    return new KubeRest(kc, {
      qps: config.qps ?? DEFAULT_QPS,
      burst: config.burst ?? (config.qps ?? DEFAULT_QPS) * 2,
      maxSockets: Math.max(32, config.concurrency ?? DEFAULT_CONCURRENCY),
      ...(config.allowInsecure ? { allowInsecure: true } : {}),
    });
  } catch (err) {
    // A kubeconfig this client cannot use stays unusable however often it is retried.
    throw ApplicationFailure.nonRetryable(
      `the worker cannot reach cluster "${name}" as its kubeconfig ${config.kubeconfig} says: ${(err as Error).message}. Fix the kubeconfig` +
        `${/insecure|plain http/.test((err as Error).message) ? `, or set clusters.${name}.allowInsecure: true in the worker config (a test cluster only)` : ''}.`,
      FAILURE.ClusterMisconfigured,
    );
  }
}
