// What the command line reads from the kubeferry config file: where Temporal is, the names of the
// clusters, the default bucket and prefix, named routes and request defaults. The same YAML file also
// holds what only the worker reads (kubeconfig paths and contexts, S3 credentials files, router admin
// sockets); the CLI never opens those files, so credentials are only ever read on the worker side. The one
// key it may read is the payload encryption key (payloadEncryption), which it needs to write inputs and read
// results when the worker encrypts payloads.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, readPayloadEncryption, type PayloadEncryptionSettings } from './worker-config.js';
import { localWebUi, TEMPORAL_ENV, temporalSettings, type TemporalSettings } from './temporal.js';

export interface CliConfig {
  /** The file read, if any. */
  file?: string;
  /** `webUi`: the Temporal Web UI's address, for links to a migration. */
  temporal: TemporalSettings & { webUi?: string };
  /** Names of the clusters the worker knows; used to catch a misspelt `--source` before starting. */
  clusters: string[];
  storage: { bucket?: string; prefix?: string };
  /** Routes by name: `--route web`, or `routes: [web]` in a request file. */
  routes: Record<string, Record<string, unknown>>;
  /** Request fields used when neither the request file nor a flag sets them. */
  defaults: Record<string, unknown>;
  /** Payload encryption, with the worker's key file; off when absent. */
  payloadEncryption?: PayloadEncryptionSettings;
}

export interface CliConfigOverrides {
  config?: string;
  address?: string;
  temporalNamespace?: string;
  taskQueue?: string;
}

/** Where the config file is looked for, first match wins. */
export function configCandidates(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  const xdg = env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config');
  return [
    ...(env.KUBEFERRY_CONFIG ? [env.KUBEFERRY_CONFIG] : []),
    path.join(cwd, 'kubeferry.yaml'),
    path.join(xdg, 'kubeferry', 'config.yaml'),
    // The local stack's config, so the checkout works with no setup beyond `npm run stack:up`.
    path.resolve(import.meta.dirname, '../../.stack/kubeferry.yaml'),
  ];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the config (flag > environment > file > built-in default for each setting). A file named by
 * `--config` or KUBEFERRY_CONFIG must exist; the other places are optional.
 */
export function loadCliConfig(overrides: CliConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const named = overrides.config ?? env.KUBEFERRY_CONFIG;
  if (named && !fs.existsSync(named)) {
    throw new ConfigError(`config file ${named} not found (${overrides.config ? '--config' : 'KUBEFERRY_CONFIG'})`);
  }
  const file = named ?? configCandidates(env).find((f) => fs.existsSync(f));
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      const parsed: unknown = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
      if (!isRecord(parsed)) throw new Error('the top level must be a mapping');
      raw = parsed;
    } catch (err) {
      throw new ConfigError(`config file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const section = (name: string): Record<string, unknown> => {
    const v = raw[name];
    if (v === undefined || v === null) return {};
    if (!isRecord(v)) throw new ConfigError(`config file ${file}: '${name}' must be a mapping`);
    return v;
  };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const temporal = section('temporal');
  const storage = section('storage');
  const routes = section('routes');
  const where = temporalSettings({ address: overrides.address, namespace: overrides.temporalNamespace, taskQueue: overrides.taskQueue }, env, temporal);
  for (const [name, route] of Object.entries(routes)) {
    if (!isRecord(route)) throw new ConfigError(`config file ${file}: routes.${name} must be a mapping (router, backend, workloads, ...)`);
  }
  return {
    ...(file ? { file } : {}),
    temporal: {
      ...where,
      ...withValue('webUi', str(env[TEMPORAL_ENV.webUi]) ?? str(temporal.webUi) ?? localWebUi(where.address)),
    },
    clusters: Object.keys(section('clusters')),
    storage: {
      ...withValue('bucket', str(env.KUBEFERRY_BUCKET) ?? str(storage.bucket)),
      ...withValue('prefix', str(env.KUBEFERRY_PREFIX) ?? str(storage.prefix)),
    },
    routes: Object.fromEntries(Object.entries(routes).map(([name, r]) => [name, { name, ...(r as Record<string, unknown>) }])),
    defaults: section('defaults'),
    ...withPayloadEncryption(readPayloadEncryption(raw.payloadEncryption, file ? path.dirname(file) : process.cwd(), env, file)),
  };
}

const withPayloadEncryption = (settings: PayloadEncryptionSettings | undefined) => (settings ? { payloadEncryption: settings } : {});

const withValue = <K extends string>(key: K, value: string | undefined) => (value === undefined ? {} : { [key]: value } as Record<K, string>);

