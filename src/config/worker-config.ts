// The worker's own configuration: where each named cluster's credentials are, the object store and
// the routers' admin endpoints. It never leaves the worker; migration requests refer to it by name.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface ClusterConfig {
  /** Path to a kubeconfig file; relative paths are resolved against the config file. */
  kubeconfig: string;
  /** Context in that kubeconfig; its current context when omitted. */
  context?: string;
  /** Client-side limit on requests per second to this API server (default 200; 0 = none), and its burst. */
  qps?: number;
  burst?: number;
}

export interface StorageConfig {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** A file of AWS_ACCESS_KEY_ID=... lines; otherwise the AWS SDK's usual chain (environment, profile). */
  credentialsFile?: string;
}

export interface WorkerConfig {
  clusters: Record<string, ClusterConfig>;
  storage: StorageConfig;
  routers: { haproxy?: { adminSocket?: string; adminAddress?: string } };
  /** Key file for client-side encryption of Secret archives (64 hex characters). */
  backupEncryption?: { keyFile: string };
  temporal: { address: string; namespace: string; taskQueue: string };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the worker config from KUBEFERRY_CONFIG (or the local stack's), with environment overrides. */
export function loadWorkerConfig(file = defaultConfigPath()): WorkerConfig {
  if (!fs.existsSync(file)) {
    throw new ConfigError(`worker config ${file} not found: set KUBEFERRY_CONFIG, or start the local stack with 'npm run stack:up'`);
  }
  const raw = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
  const dir = path.dirname(file);
  const clusters: Record<string, ClusterConfig> = {};
  for (const [name, value] of Object.entries<Record<string, unknown>>(raw.clusters ?? {})) {
    if (typeof value?.kubeconfig !== 'string') throw new ConfigError(`${file}: clusters.${name}.kubeconfig must be a file path`);
    clusters[name] = {
      kubeconfig: path.resolve(dir, value.kubeconfig),
      ...(typeof value.context === 'string' ? { context: value.context } : {}),
      ...(typeof value.qps === 'number' ? { qps: value.qps } : {}),
      ...(typeof value.burst === 'number' ? { burst: value.burst } : {}),
    };
  }
  if (Object.keys(clusters).length === 0) throw new ConfigError(`${file}: no clusters configured under 'clusters:'`);
  const storage = raw.storage ?? {};
  return {
    clusters,
    storage: {
      endpoint: process.env.S3_ENDPOINT ?? storage.endpoint,
      region: storage.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: storage.forcePathStyle ?? true,
      ...(storage.credentialsFile ? { credentialsFile: path.resolve(dir, storage.credentialsFile) } : {}),
    },
    routers: raw.routers ?? {},
    ...(raw.backupEncryption?.keyFile ? { backupEncryption: { keyFile: path.resolve(dir, raw.backupEncryption.keyFile) } } : {}),
    temporal: {
      address: process.env.TEMPORAL_ADDRESS ?? raw.temporal?.address ?? '127.0.0.1:7233',
      namespace: process.env.TEMPORAL_NAMESPACE ?? raw.temporal?.namespace ?? 'default',
      taskQueue: process.env.KUBEFERRY_TASK_QUEUE ?? raw.temporal?.taskQueue ?? 'kubeferry',
    },
  };
}

export function defaultConfigPath(): string {
  if (process.env.KUBEFERRY_CONFIG) return process.env.KUBEFERRY_CONFIG;
  return path.resolve(import.meta.dirname, '../../.stack/kubeferry.yaml');
}

/** Parses a KEY=value file (the local stack's S3 credentials). */
export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}
