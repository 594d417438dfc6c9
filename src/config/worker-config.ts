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
  /** Requests one bulk activity keeps in flight to this API server (default 32). */
  concurrency?: number;
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
  /** Encryption of every Temporal payload with a codec (src/codec/); off when absent. */
  payloadEncryption?: PayloadEncryptionSettings;
  temporal: { address: string; namespace: string; taskQueue: string };
}

/**
 * `payloadEncryption` in the config file: a key file of its own (never the backup key) and the id of
 * the key that encrypts (the file's last key when omitted). Read by the worker, the CLI and the codec
 * server; see src/codec/keys.ts for the file's format.
 */
export interface PayloadEncryptionSettings {
  keyFile: string;
  keyId?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The `payloadEncryption` section, with KUBEFERRY_PAYLOAD_KEY_FILE (turns it on, or points it at another
 * file) and KUBEFERRY_PAYLOAD_KEY_ID over it. A relative keyFile in the file is resolved against the
 * file's folder, one in the environment against the working directory. Undefined means off.
 */
export function readPayloadEncryption(section: unknown, dir: string, env: NodeJS.ProcessEnv, file: string | undefined): PayloadEncryptionSettings | undefined {
  const where = file ?? 'the config';
  if (section !== undefined && section !== null && (typeof section !== 'object' || Array.isArray(section))) {
    throw new ConfigError(`${where}: 'payloadEncryption' must be a mapping with keyFile (and optionally keyId)`);
  }
  const raw = (section ?? {}) as Record<string, unknown>;
  for (const name of ['keyFile', 'keyId']) {
    if (raw[name] !== undefined && (typeof raw[name] !== 'string' || raw[name] === '')) throw new ConfigError(`${where}: payloadEncryption.${name} must be a non-empty string`);
  }
  const fromEnv = env.KUBEFERRY_PAYLOAD_KEY_FILE || undefined;
  const keyFile = fromEnv ? path.resolve(fromEnv) : typeof raw.keyFile === 'string' ? path.resolve(dir, raw.keyFile) : undefined;
  const keyId = (env.KUBEFERRY_PAYLOAD_KEY_ID || undefined) ?? (raw.keyId as string | undefined);
  if (!keyFile) {
    if (keyId !== undefined || (section !== undefined && section !== null)) {
      throw new ConfigError(`${where}: payload encryption needs a key file: set payloadEncryption.keyFile or KUBEFERRY_PAYLOAD_KEY_FILE`);
    }
    return undefined;
  }
  return keyId === undefined ? { keyFile } : { keyFile, keyId };
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
      ...(value.concurrency === undefined ? {} : { concurrency: positiveInteger(value.concurrency, `${file}: clusters.${name}.concurrency`) }),
    };
  }
  if (Object.keys(clusters).length === 0) throw new ConfigError(`${file}: no clusters configured under 'clusters:'`);
  const storage = raw.storage ?? {};
  const payloadEncryption = readPayloadEncryption(raw.payloadEncryption, dir, process.env, file);
  if (payloadEncryption && raw.backupEncryption?.keyFile && payloadEncryption.keyFile === path.resolve(dir, raw.backupEncryption.keyFile)) {
    throw new ConfigError(`${file}: payloadEncryption.keyFile is the backup key file; give payloads a key file of their own ('npx tsx src/codec/keys.ts add <file>')`);
  }
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
    ...withPayloadEncryption(payloadEncryption),
    temporal: {
      address: process.env.TEMPORAL_ADDRESS ?? raw.temporal?.address ?? '127.0.0.1:7233',
      namespace: process.env.TEMPORAL_NAMESPACE ?? raw.temporal?.namespace ?? 'default',
      taskQueue: process.env.KUBEFERRY_TASK_QUEUE ?? raw.temporal?.taskQueue ?? 'kubeferry',
    },
  };
}

const withPayloadEncryption = (settings: PayloadEncryptionSettings | undefined) => (settings ? { payloadEncryption: settings } : {});

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

function positiveInteger(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 512) {
    throw new ConfigError(`${where} must be a whole number from 1 to 512, not ${JSON.stringify(value)}`);
  }
  return value;
}
