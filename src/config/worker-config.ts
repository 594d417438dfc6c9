// The worker's own configuration: where each named cluster's credentials are, the object store and
// the routers' admin endpoints. It never leaves the worker; migration requests refer to it by name.
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import YAML from 'yaml';
import { z } from 'zod';
import { CLUSTER_NAME } from '../domain/request.js';
import { jsonSchemaFile } from '../domain/request-json-schema.js';
import { temporalSettings, type TemporalSettings } from './temporal.js';
import { workerPolicySchema, type WorkerPolicy } from './worker-policy.js';

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
  /** Allow a kubeconfig that skips TLS verification or talks plain http (never for a real cluster). */
  allowInsecure?: boolean;
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
  /**
   * Backup keys (a key file of one or more keys, as payload keys): they encrypt Secret archives and
   * authenticate manifests; the last key (or keyId) encrypts and signs, every key reads.
   */
  backupEncryption?: { keyFile: string; keyId?: string; acceptUnauthenticatedBackups?: boolean };
  /** Encryption of every Temporal payload with a codec (src/codec/); off when absent. */
  payloadEncryption?: PayloadEncryptionSettings;
  /** What requests may make this worker do (src/config/worker-policy.ts); anything within the config when absent. */
  policy?: WorkerPolicy;
  temporal: TemporalSettings;
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

/** Requests one bulk activity may keep in flight to one API server, at the most. */
const MAX_CONCURRENCY = 512;
const text = (what: string) => z.string({ error: `expected ${what}` }).min(1, `expected ${what}, got an empty string`);

/**
 * The config file as written. Strict: a key kubeferry does not know is refused, so a misspelt one
 * (`qsp:`) is an error at start rather than a setting silently ignored. Its JSON Schema is generated into
 * schema/worker-config.schema.json (`npm run schema`), for editors.
 */
export const workerConfigFileSchema = z.strictObject({
  clusters: z.record(z.string().regex(CLUSTER_NAME, 'expected a cluster name as requests write it (letters, digits, and -_. inside)'), z.strictObject({
    kubeconfig: text('a kubeconfig file path (relative to this file)'),
    context: text('a context of that kubeconfig').optional(),
    qps: z.number().min(0).optional().describe('client-side requests per second to this API server (default 200; 0: none)'),
    burst: z.number().int().min(0).optional(),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional().describe('requests one bulk activity keeps in flight (default 32)'),
    allowInsecure: z.boolean().optional().describe('allow a kubeconfig that skips TLS verification or uses plain http (default false)'),
  })).refine((clusters) => Object.keys(clusters).length > 0, 'expected at least one cluster'),
  storage: z.strictObject({
    endpoint: text('an S3 endpoint URL').optional(),
    region: text('an S3 region').optional(),
    forcePathStyle: z.boolean().optional(),
    credentialsFile: text('a file of AWS_ACCESS_KEY_ID=... lines').optional(),
    bucket: text('a bucket name').optional().describe('the default bucket of requests (CLI)'),
    prefix: z.string().optional().describe('the default key prefix of requests (CLI)'),
  }).optional(),
  routers: z.strictObject({
    haproxy: z.strictObject({ adminSocket: text('a socket path').optional(), adminAddress: text('host:port').optional() }).optional(),
  }).optional(),
  backupEncryption: z.strictObject({
    keyFile: text('a key file path'),
    keyId: text('a key id').optional().describe('the key that encrypts and signs new backups (the file\'s last when omitted)'),
    acceptUnauthenticatedBackups: z.boolean().optional()
      .describe('read backups that carry no authentication (format 2, or taken without a backup key): only when everyone who can write to the bucket is trusted'),
  }).optional(),
  policy: workerPolicySchema.optional(),
  // Checked in full by readPayloadEncryption, which the CLI shares (with the environment over it).
  payloadEncryption: z.strictObject({ keyFile: text('a key file path').optional(), keyId: text('a key id').optional() }).nullable().optional(),
  temporal: z.strictObject({
    address: text('host:port').optional(),
    namespace: text('a Temporal namespace').optional(),
    taskQueue: text('a task queue name').optional(),
    webUi: text('the Web UI\'s URL').optional(),
  }).optional(),
  // Read by the CLI only: named routes and request defaults (checked when a request uses them).
  routes: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  defaults: z.record(z.string(), z.unknown()).optional(),
});

export type WorkerConfigFile = z.infer<typeof workerConfigFileSchema>;

/** Reads the worker config from KUBEFERRY_CONFIG (or the local stack's), with environment overrides. */
export function loadWorkerConfig(file = defaultConfigPath()): WorkerConfig {
  if (!fs.existsSync(file)) {
    throw new ConfigError(`worker config ${file} not found: set KUBEFERRY_CONFIG, or start the local stack with 'npm run stack:up'`);
  }
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`worker config ${file} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const checked = workerConfigFileSchema.safeParse(parsed, { reportInput: true });
  if (!checked.success) {
    throw new ConfigError(`worker config ${file} is not valid:\n${configProblems(checked.error).map((p) => `  - ${p}`).join('\n')}\n` +
      'Fix the file (its schema: schema/worker-config.schema.json) and start the worker again.');
  }
  const raw = checked.data;
  const dir = path.dirname(file);
  const clusters: Record<string, ClusterConfig> = Object.fromEntries(Object.entries(raw.clusters).map(([name, c]) => [name, {
    ...c, kubeconfig: path.resolve(dir, c.kubeconfig),
  }]));
  const storage = raw.storage ?? {};
  const payloadEncryption = readPayloadEncryption(raw.payloadEncryption, dir, process.env, file);
  if (payloadEncryption && raw.backupEncryption && payloadEncryption.keyFile === path.resolve(dir, raw.backupEncryption.keyFile)) {
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
    ...(raw.backupEncryption ? { backupEncryption: { ...raw.backupEncryption, keyFile: path.resolve(dir, raw.backupEncryption.keyFile) } } : {}),
    ...withPayloadEncryption(payloadEncryption),
    ...(raw.policy ? { policy: { ...raw.policy, file } } : {}),
    temporal: temporalSettings({}, process.env, raw.temporal),
  };
}

/**
 * Zod's issues as a person reads them: where (the key path, dotted) and what was wrong, with the value
 * that was there, e.g. `clusters.source.qps: expected a number, got "50"`.
 */
export function configProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return `${where === '(top level)' ? '' : `${where}: `}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (a misspelling?)`;
    }
    const got = `got ${shown(issue.input)}`;
    if (issue.code === 'invalid_type') {
      // Our own wording where the schema gives one ("expected a kubeconfig file path"), else the type's.
      const expected = issue.message.startsWith('expected ') ? issue.message : `expected ${TYPE_NAMES[issue.expected] ?? article(issue.expected)}`;
      return `${where}: ${expected}, ${got}`;
    }
    if (issue.code === 'too_big') return `${where}: expected ${issue.inclusive === false ? 'less than' : 'at most'} ${issue.maximum}, ${got}`;
    if (issue.code === 'too_small' && issue.origin === 'number') return `${where}: expected ${issue.inclusive === false ? 'more than' : 'at least'} ${issue.minimum}, ${got}`;
    if (issue.input === undefined || issue.message.includes(', got ')) return `${where}: ${issue.message}`;
    return `${where}: ${issue.message}, ${got}`;
  });
}

const TYPE_NAMES: Record<string, string> = { record: 'a mapping', object: 'a mapping', array: 'a list', int: 'a whole number', nonoptional: 'a value' };
const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** A value as the problem names it: short ones as JSON, others by their kind. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 30)})`;
  if (typeof value === 'object') return 'a mapping';
  const json = JSON.stringify(value);
  return json.length <= 40 ? json : `${json.slice(0, 37)}..."`;
}

const withPayloadEncryption = (settings: PayloadEncryptionSettings | undefined) => (settings ? { payloadEncryption: settings } : {});

export function defaultConfigPath(): string {
  if (process.env.KUBEFERRY_CONFIG) return process.env.KUBEFERRY_CONFIG;
  return path.resolve(import.meta.dirname, '../../.stack/kubeferry.yaml');
}

/** Parses a KEY=value file (the local stack's S3 credentials and settings), as Node reads .env files. */
export function readEnvFile(file: string): Record<string, string> {
  return Object.fromEntries(Object.entries(parseEnv(fs.readFileSync(file, 'utf8'))).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export const WORKER_CONFIG_SCHEMA_ID = 'https://kubeferry.dev/schema/worker-config.schema.json';

/** The config file's JSON Schema, for editors (schema/worker-config.schema.json is its committed copy). */
export function workerConfigJsonSchema(): Record<string, unknown> {
  return jsonSchemaFile(workerConfigFileSchema, {
    $id: WORKER_CONFIG_SCHEMA_ID,
    title: 'kubeferry worker and CLI configuration',
    description: 'The YAML file KUBEFERRY_CONFIG names: clusters, storage, routers, keys and Temporal (the worker); routes and defaults (the CLI).',
  });
}
