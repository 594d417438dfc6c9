// Where the local stack is, for tests. A test that needs the stack fails loudly when it is not up.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { KubeRest } from '../../src/kube/rest.js';
import { loadWorkerConfig, readEnvFile, type WorkerConfig } from '../../src/config/worker-config.js';
import { createWorker } from '../../src/worker.js';
import { quietRuntime } from './runtime.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');


/** The settings scripts/stack/up.sh wrote; throws with what to do when the stack was never started. */
export function stackEnv(): Record<string, string> {
  const dir = process.env.KUBEFERRY_STATE ?? path.join(repoRoot, '.stack');
  const file = path.join(dir, 'stack.env');
  if (!fs.existsSync(file)) {
    throw new Error(`the local stack is not up (${file} is missing): run 'npm run stack:up' first, or 'npm test' which starts it`);
  }
  return readEnvFile(file);
}

/** A binary scripts/stack/install.sh put in the cache folder named after its pinned version. */
function cachedBinary(folder: (versions: Record<string, string>) => string, name: string, component: string): string {
  const versions = readEnvFile(path.join(repoRoot, 'scripts/stack/versions.env'));
  const cache = process.env.KUBEFERRY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'kubeferry');
  const exe = path.join(cache, folder(versions), 'bin', name);
  if (!fs.existsSync(exe)) throw new Error(`${name} is not installed (${exe}): run 'bash scripts/stack/install.sh ${component}'`);
  return exe;
}

/** The time-skipping test server binary installed by scripts/stack/install.sh. */
export function timeSkippingServerPath(): string {
  return process.env.TEMPORAL_TEST_SERVER
    ?? cachedBinary((v) => `temporal-test-server-${v.TEMPORAL_TEST_SERVER_PY_VERSION}`, 'temporal-test-server', 'temporal');
}

/** The Temporal CLI installed by scripts/stack/install.sh (it writes histories in the JSON form the replayer reads). */
export function temporalCliPath(): string {
  return cachedBinary((v) => `temporal-cli-${v.TEMPORAL_CLI_PY_VERSION}`, 'temporal', 'temporal');
}

/** A kubeconfig loaded from a file the stack wrote. */
export function kubeconfigFrom(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export interface StackWorker {
  config: WorkerConfig;
  client: Client;
  source: KubeRest;
  target: KubeRest;
  /** Stops the worker and closes the API connections. */
  stop(): Promise<void>;
}

/** A kubeferry worker on a task queue of its own (`kubeferry-<run>`), a client, and raw access to both clusters. */
export async function startStackWorker(run: string, configure: (config: WorkerConfig) => void = () => undefined): Promise<StackWorker> {
  const env = stackEnv();
  quietRuntime();
  const config = loadWorkerConfig(env.KUBEFERRY_CONFIG!);
  config.temporal.taskQueue = `kubeferry-${run}`;
  configure(config);
  const worker = await createWorker(config, await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS }));
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
  const source = new KubeRest(kubeconfigFrom(env.SOURCE_KUBECONFIG!));
  const target = new KubeRest(kubeconfigFrom(env.TARGET_KUBECONFIG!));
  return {
    config, client, source, target,
    async stop() {
      worker.shutdown();
      await running;
      source.close();
      target.close();
    },
  };
}

/** Polls until `probe` returns a value (an error counts as not yet); fails naming what it waited for. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const why = last === undefined ? '' : `; the last attempt said: ${last instanceof Error ? `${last.name}: ${last.message}` : String(last)}`;
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The application failure a migration failed with (beneath the activity's failure, if any); fails the test when it did not fail. */
export async function failureOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await result.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof WorkflowFailedError, `expected the migration to fail, got ${String(err)}`);
  let cause: unknown = err.cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  assert.ok(cause instanceof ApplicationFailure, `no ApplicationFailure in ${String(err)}`);
  return cause;
}
