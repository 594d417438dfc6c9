// Faults injected into the local stack's real processes: a process killed and later started again with
// exactly its command line, environment and working directory (read from /proc before it dies), or a
// process frozen (SIGSTOP: connections hang, as behind a network partition) and thawed; and what the
// fault tests share: a seeded namespace, its ConfigMaps for comparison, activities in flight.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import YAML from 'yaml';
import type { KubeRest } from '../../src/kube/rest.js';
import type { LoadReport } from '../../src/dev/load.js';
import { CHUNK as RESTORE_CHUNK } from '../../src/activities/restore.js';
import { deleteNamespaces } from '../../src/dev/sample-app.js';
import { kubeconfigFrom, repoRoot, stackEnv, waitFor } from './stack.js';

const stateDir = () => process.env.KUBEFERRY_STATE ?? path.join(repoRoot, '.stack');

export const PID_FILES = {
  temporal: () => path.join(stateDir(), 'pids/temporal.pid'),
  s3: () => path.join(stateDir(), 'pids/versitygw.pid'),
  targetApiServer: () => path.join(stateDir(), 'kwok/clusters/kf-target/pids/kube-apiserver.pid'),
  haproxy: () => path.join(stateDir(), 'pids/haproxy.pid'),
};

/**
 * Reloads HAProxy as a service manager does (SIGUSR2 to its master process: a new worker takes over the
 * listening sockets), which sets every runtime weight back to the configuration's; resolves once the
 * master has logged the new worker's successful start.
 */
export async function reloadHaproxy(): Promise<void> {
  const log = path.join(stateDir(), 'logs/haproxy.log');
  const loads = () => (fs.readFileSync(log, 'utf8').match(/Loading success/g) ?? []).length;
  const before = loads();
  process.kill(pidOf(PID_FILES.haproxy()), 'SIGUSR2');
  await waitFor('HAProxy to reload', async () => (loads() > before ? true : undefined), 15_000, 100);
}

function pidOf(pidFile: string): number {
  if (!fs.existsSync(pidFile)) throw new Error(`${pidFile} is missing: is the local stack up ('npm run stack:up')?`);
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 0);
  } catch {
    throw new Error(`process ${pid} of ${pidFile} is not running: restart the local stack ('npm run stack:up')`);
  }
  return pid;
}

/** Kills a stack process with SIGKILL; `revive()` starts the same command again and records its pid. */
export async function killProcess(pidFile: string): Promise<{ revive(): Promise<void> }> {
  const pid = pidOf(pidFile);
  const original = fs.readFileSync(pidFile, 'utf8');
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  process.kill(pid, 'SIGKILL');
  while (fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) await sleep(50);
  return {
    async revive() {
      const log = fs.openSync(path.join(stateDir(), 'logs', `${path.basename(pidFile, '.pid')}.revived.log`), 'a');
      const child = spawn(argv[0]!, argv.slice(1), { env, cwd, detached: true, stdio: ['ignore', log, log] });
      child.unref();
      // In the file's own format: kwokctl parses its pid files strictly (no trailing newline), and
      // stops the cluster's processes by them.
      fs.writeFileSync(pidFile, original.endsWith('\n') ? `${child.pid}\n` : String(child.pid));
    },
  };
}

/** Freezes a stack process (it keeps its sockets but answers nothing) until `thaw()`. */
export function freezeProcess(pidFile: string): { thaw(): void } {
  const pid = pidOf(pidFile);
  process.kill(pid, 'SIGSTOP');
  return { thaw: () => process.kill(pid, 'SIGCONT') };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When a load's failed requests came, to tell a start before the app served from a fault in the middle. */
export function failureWindow(report: LoadReport): string {
  const at = report.timeline.filter(([, c]) => c === 'error').map(([ms]) => ms);
  if (at.length === 0) return 'none failed';
  const firstOk = report.timeline.find(([, c]) => c !== 'error')?.[0];
  return `${at.length} failed between ${Math.min(...at)} ms and ${Math.max(...at)} ms after the load started ` +
    `(first success at ${firstOk === undefined ? 'none' : `${firstOk} ms`})`;
}


/** Activities in flight, with their attempt and last heartbeat (decoded). */
export async function pendingActivities(handle: WorkflowHandle): Promise<{ type: string; attempt: number; heartbeat?: unknown }[]> {
  const { raw } = await handle.describe();
  return (raw.pendingActivities ?? []).map((a) => {
    const data = a.heartbeatDetails?.payloads?.[0]?.data;
    return {
      type: a.activityType?.name ?? '',
      attempt: a.attempt ?? 1,
      ...(data ? { heartbeat: JSON.parse(Buffer.from(data).toString('utf8')) as unknown } : {}),
    };
  });
}

/**
 * Waits until an activity of that type has heartbeated, optionally with a restore cursor past a whole
 * first chunk: inside a large wave, not the one-object Namespace wave that heartbeats once as it ends.
 */
export function heartbeatOf(handle: WorkflowHandle, type: string, pastFirstChunk = false, timeoutMs = 240_000) {
  return waitFor(`a ${type} heartbeat${pastFirstChunk ? ' past the first chunk' : ''}`, async () =>
    (await pendingActivities(handle)).find((a) => a.type === type && a.heartbeat !== undefined &&
      (!pastFirstChunk || ((a.heartbeat as { offset?: number }).offset ?? 0) >= RESTORE_CHUNK)), timeoutMs);
}

/** Whether the history shows an activity of that type started again after a failed or timed-out attempt. */
export async function resumed(handle: WorkflowHandle, type: string): Promise<boolean> {
  const events = (await handle.fetchHistory()).events ?? [];
  const typeOf = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType?.name]));
  return events.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1 &&
    typeOf.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId)) === type);
}

/** A namespace in the source with a Deployment `web`, its Service and `configMaps` ConfigMaps. */
export async function seedNamespace(source: KubeRest, ns: string, configMaps: number, run: string): Promise<void> {
  await source.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await source.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
    body: {
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } } },
    },
  });
  await source.request('POST', `/api/v1/namespaces/${ns}/services`, { body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  const queue = Array.from({ length: configMaps }, (_, i) => i);
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      await source.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: `cm-${i}` }, data: { index: String(i), run } } });
    }
  }));
}

/** A namespace's ConfigMaps as name -> data, to compare it across clusters. */
export async function configMapsOf(rest: KubeRest, ns: string): Promise<Map<string, string>> {
  const list = await rest.get<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>(`/api/v1/namespaces/${ns}/configmaps`);
  return new Map(list.items.filter((c) => c.metadata.name !== 'kube-root-ca.crt').map((c) => [c.metadata.name, JSON.stringify(c.data ?? {})]));
}

/**
 * The stack's worker config with slow client-side rate limits, so that backup and restore last long
 * enough to be interrupted in the middle: 5 requests/s to the source, 40 to the target.
 */
export function slowWorkerConfig(stackConfig: string, dir: string): string {
  const config = YAML.parse(fs.readFileSync(stackConfig, 'utf8')) as { clusters: Record<string, Record<string, unknown>> };
  Object.assign(config.clusters.source!, { qps: 5, burst: 5 });
  Object.assign(config.clusters.target!, { qps: 40, burst: 40 });
  const file = path.join(dir, 'kubeferry-slow.yaml');
  fs.writeFileSync(file, YAML.stringify(config));
  return file;
}

/** Waits until a namespace is gone from a cluster (deleted and finalized). */
export function namespaceGone(rest: KubeRest, ns: string, timeoutMs = 120_000): Promise<true> {
  return waitFor(`namespace ${ns} gone`, async () =>
    ((await rest.get(`/api/v1/namespaces/${ns}`).then(() => false, (err: { code?: number }) => err.code === 404)) ? true : undefined), timeoutMs);
}

/** What a fault test file removes at its end: its namespaces in both clusters, its clients, its scratch directory. */
export async function removeFaultRun(namespaces: string[], clients: (KubeRest | undefined)[], dir: string): Promise<void> {
  const env = stackEnv();
  await deleteNamespaces(kubeconfigFrom(env.SOURCE_KUBECONFIG!), namespaces);
  await deleteNamespaces(kubeconfigFrom(env.TARGET_KUBECONFIG!), namespaces);
  for (const c of clients) c?.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
