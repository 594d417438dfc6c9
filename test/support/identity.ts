// kubeferry under its own least-privilege identities (deploy/rbac/), for tests on the local stack: the
// manifests applied with the admin kubeconfigs, a real ServiceAccount token from the TokenRequest API, a
// kubeconfig holding only that token, a worker config pointing at those kubeconfigs, and a worker on a
// task queue of its own.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import YAML from 'yaml';
import type { RawObject } from '../../src/store/backup-format.js';
import { KubeApiError, KubeRest } from '../../src/kube/rest.js';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker-config.js';
import { createWorker } from '../../src/worker.js';
import { quietRuntime } from './runtime.js';
import { repoRoot } from './stack.js';

export const IDENTITY_NAMESPACE = 'kubeferry-system';
export const IDENTITY_NAME = 'kubeferry';
export const SOURCE_RBAC = path.join(repoRoot, 'deploy/rbac/source-reader.yaml');
export const TARGET_RBAC = path.join(repoRoot, 'deploy/rbac/target-restorer.yaml');
const FIELD_MANAGER = 'kubeferry-rbac-test';

/** The objects of a multi-document YAML file (commented-out documents are skipped). */
export function manifestObjects(file: string): RawObject[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as RawObject | null).filter((o): o is RawObject => !!o);
}

/** Where an object of the kinds the RBAC manifests hold lives in the API. */
export function objectPath(o: Pick<RawObject, 'kind' | 'metadata'>): string {
  const name = encodeURIComponent(o.metadata!.name!);
  const ns = o.metadata?.namespace;
  switch (o.kind) {
    case 'Namespace': return `/api/v1/namespaces/${name}`;
    case 'ServiceAccount': return `/api/v1/namespaces/${ns}/serviceaccounts/${name}`;
    case 'ClusterRole': return `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`;
    case 'ClusterRoleBinding': return `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`;
    case 'Role': return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${name}`;
    case 'RoleBinding': return `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/${name}`;
    case 'ValidatingAdmissionPolicy': return `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`;
    case 'ValidatingAdmissionPolicyBinding': return `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${name}`;
    default: throw new Error(`objectPath: no path known for kind ${o.kind}`);
  }
}

/** Server-side applies every object of a manifest file, in order, as an administrator would with kubectl. */
export async function applyManifest(admin: KubeRest, file: string): Promise<RawObject[]> {
  return applyObjects(admin, manifestObjects(file));
}

/** Server-side applies objects, in order, as `kubectl apply` does with what `kubeferry rbac` prints. */
export async function applyObjects(admin: KubeRest, objects: RawObject[]): Promise<RawObject[]> {
  for (const o of objects) {
    // A Namespace still terminating (an earlier run's) takes no new objects: wait until it is gone.
    for (let deadline = Date.now() + 120_000; o.kind === 'Namespace';) {
      const phase = await admin.get<{ status?: { phase?: string } }>(objectPath(o)).then((ns) => ns.status?.phase, (err: unknown) => {
        if (err instanceof KubeApiError && err.code === 404) return undefined;
        throw err;
      });
      if (phase !== 'Terminating') break;
      if (Date.now() > deadline) throw new Error(`namespace ${o.metadata!.name} is still terminating after 120 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await admin.request('PATCH', objectPath(o), {
      body: o, contentType: 'application/apply-patch+yaml', query: { fieldManager: FIELD_MANAGER, force: true },
    });
  }
  return objects;
}

/**
 * Deletes what a manifest file created, last first; objects already gone are fine. An aggregated
 * ClusterRole can come back: kube-controller-manager's aggregation controller writes its rules with a
 * server-side apply, which creates the role again (rules only) when the deletion of one of its parts
 * is processed after the role itself was deleted. It is deleted until it stays gone.
 */
export async function deleteManifest(admin: KubeRest, file: string): Promise<void> {
  const objects = manifestObjects(file).reverse();
  const remove = (o: RawObject) => admin.request('DELETE', objectPath(o)).then(() => true, (err: unknown) => {
    if (err instanceof KubeApiError && err.code === 404) return false;
    throw err;
  });
  for (const o of objects) await remove(o);
  const aggregated = objects.filter((o) => o.kind === 'ClusterRole' && 'aggregationRule' in o);
  for (let quiet = 0, round = 0; quiet < 3 && round < 40; round++) {
    await new Promise((r) => setTimeout(r, 250));
    const removed = await Promise.all(aggregated.map(remove));
    quiet = removed.some(Boolean) ? 0 : quiet + 1;
  }
}

/** A real, short-lived token of the kubeferry ServiceAccount, from the TokenRequest API. */
export async function serviceAccountToken(admin: KubeRest, expirationSeconds = 3600, name = IDENTITY_NAME): Promise<string> {
  const review = await admin.request<{ status?: { token?: string } }>(
    'POST', `/api/v1/namespaces/${IDENTITY_NAMESPACE}/serviceaccounts/${name}/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } } },
  );
  if (!review.status?.token) throw new Error('the TokenRequest API returned no token');
  return review.status.token;
}

/** An identity: a token and the API server (address and CA) it is valid for. */
export interface Identity {
  server: string;
  ca: Buffer;
  token: string;
  /** A kubeconfig file holding only this token (no client certificate). */
  kubeconfig: string;
}

/** Writes a kubeconfig with `token` for the cluster (server and CA) of the admin kubeconfig `adminFile`. */
export function tokenIdentity(adminFile: string, token: string, outFile: string): Identity {
  const admin = new KubeConfig();
  admin.loadFromFile(adminFile);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`${adminFile} has no current cluster`);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : fs.readFileSync(cluster.caFile!);
  const kubeconfig = {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: cluster.name, cluster: { server: cluster.server, 'certificate-authority-data': ca.toString('base64') } }],
    users: [{ name: `${IDENTITY_NAMESPACE}:${IDENTITY_NAME}`, user: { token } }],
    contexts: [{ name: 'kubeferry', context: { cluster: cluster.name, user: `${IDENTITY_NAMESPACE}:${IDENTITY_NAME}` } }],
    'current-context': 'kubeferry',
  };
  fs.writeFileSync(outFile, YAML.stringify(kubeconfig), { mode: 0o600 });
  return { server: cluster.server.replace(/\/+$/, ''), ca, token, kubeconfig: outFile };
}

export interface RawAnswer {
  status: number;
  body: string;
  /** The Status message of a refused request. */
  message: string;
}

/**
 * One request as this identity, with any headers (an Impersonate-User header, say): what a stolen token
 * could send. Never throws on an HTTP status.
 */
export function requestAs(
  identity: Identity,
  method: string,
  apiPath: string,
  options: { body?: unknown; contentType?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const payload = options.body === undefined ? undefined : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = https.request(identity.server + apiPath, {
      method, ca: identity.ca, timeout: 30_000,
      headers: {
        Authorization: `Bearer ${identity.token}`, Accept: 'application/json', ...options.headers,
        ...(payload ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': String(payload.length) } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let message = body.slice(0, 300);
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          // not a Status object
        }
        resolve({ status: res.statusCode ?? 0, body, message });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface Access {
  verb: string;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Whether this identity may do each of `checks`, as the API server's authorizer says (SelfSubjectAccessReview). */
export async function allowed(rest: KubeRest, checks: readonly Access[]): Promise<boolean[]> {
  return Promise.all(checks.map(async (resourceAttributes) => {
    const review = await rest.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } },
    });
    return review.status?.allowed === true;
  }));
}

/**
 * Waits until every check is allowed: RBAC takes effect through the authorizer's informers, and an
 * aggregated ClusterRole only once kube-controller-manager has copied the rules into it.
 */
export async function waitAllowed(rest: KubeRest, checks: readonly Access[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await allowed(rest, checks);
    if (answers.every(Boolean)) return;
    if (Date.now() > deadline) {
      throw new Error(`still not allowed after ${timeoutMs / 1000} s: ${checks.filter((_, i) => !answers[i]).map((c) => JSON.stringify(c)).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A copy of a worker config file (the stack's .stack/kubeferry.yaml) with each named cluster's kubeconfig replaced. */
export function writeWorkerConfig(base: string, kubeconfigs: Record<string, string>, outFile: string): void {
  const doc = YAML.parseDocument(fs.readFileSync(base, 'utf8'));
  for (const [name, kubeconfig] of Object.entries(kubeconfigs)) {
    if (!doc.hasIn(['clusters', name])) throw new Error(`${base} has no cluster "${name}"`);
    doc.setIn(['clusters', name], doc.createNode({ kubeconfig }));
  }
  // Relative paths in the copy would resolve against its own directory: keep the others absolute.
  for (const key of [['storage', 'credentialsFile'], ['backupEncryption', 'keyFile'], ['payloadEncryption', 'keyFile'], ['routers', 'haproxy', 'adminSocket']]) {
    const value = doc.getIn(key);
    if (typeof value === 'string') doc.setIn(key, path.resolve(path.dirname(base), value));
  }
  fs.writeFileSync(outFile, doc.toString(), { mode: 0o600 });
}

export interface IdentityWorker {
  config: WorkerConfig;
  client: Client;
  stop(): Promise<void>;
}

/** A kubeferry worker started from a worker config file, on a task queue of its own (`kubeferry-<run>`), and a client. */
export async function startWorkerFromConfig(run: string, configFile: string): Promise<IdentityWorker> {
  quietRuntime();
  const config = loadWorkerConfig(configFile);
  config.temporal.taskQueue = `kubeferry-${run}`;
  const native = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker(config, native);
  const running = worker.run();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    config, client,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await native.close();
    },
  };
}
