// The HTTP entry point of one local cluster, as an ingress controller is: it routes
//   /<namespace>/<service>/<rest>  ->  a ready endpoint of that Service (from the API server's EndpointSlices)
// and answers 503 while the Service has none. An endpoint on the cluster's real node (its address in
// --pod-cidr) is a real pod: the request is proxied to it, with <rest> as its path, like an ingress that
// rewrites the prefix away. kwok's pods run nothing, so for a Service whose ready endpoints are all kwok
// pods the edge answers on their behalf (200 {cluster, service, endpoints}), as it always did.
// Like ingress-nginx's proxy_next_upstream, a request whose connection to a pod fails before any answer
// (the pod just stopped) is tried once more on another ready endpoint.
//   GET /healthz -> 200
import http from 'node:http';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';

const { values } = parseArgs({
  options: {
    cluster: { type: 'string' }, kubeconfig: { type: 'string' }, port: { type: 'string' }, 'pod-cidr': { type: 'string' },
  },
});
if (!values.cluster || !values.kubeconfig || !values.port) {
  console.error('usage: cluster-edge --cluster NAME --kubeconfig FILE --port PORT [--pod-cidr A.B.C.D/N]');
  process.exit(2);
}
const cluster = values.cluster;

/** Whether an IPv4 address lies in the real node's pod range (IPv4 only: the stack's pods are). */
const inPodRange = (() => {
  const cidr = values['pod-cidr'];
  if (!cidr) return () => false;
  const toInt = (ip: string) => ip.split('.').reduce((n, part) => (n << 8) + Number(part), 0) >>> 0;
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  const net = toInt(base) & mask;
  return (ip: string) => /^\d+\.\d+\.\d+\.\d+$/.test(ip) && ((toInt(ip) & mask) >>> 0) === net >>> 0;
})();

const kc = new k8s.KubeConfig();
kc.loadFromFile(values.kubeconfig);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);

interface Endpoint { address: string; port: number; real: boolean }
/** Ready endpoints per EndpointSlice, keyed by slice; gathered per Service on lookup. */
const slices = new Map<string, { service: string; ready: Endpoint[] }>();
const sliceKey = (s: k8s.V1EndpointSlice) => `${s.metadata?.namespace}/${s.metadata?.name}`;
const record = (s: k8s.V1EndpointSlice) => {
  const service = s.metadata?.labels?.['kubernetes.io/service-name'];
  if (!service) return;
  const port = s.ports?.[0]?.port ?? 80;
  const ready = (s.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => e.addresses.map((address) => ({ address, port, real: inPodRange(address) })));
  slices.set(sliceKey(s), { service: `${s.metadata?.namespace}/${service}`, ready });
};
const readyEndpoints = (service: string) => [...slices.values()].filter((s) => s.service === service).flatMap((s) => s.ready);

const informer = k8s.makeInformer(kc, '/apis/discovery.k8s.io/v1/endpointslices', () =>
  discovery.listEndpointSliceForAllNamespaces(),
);
informer.on('add', record);
informer.on('update', record);
informer.on('delete', (s) => slices.delete(sliceKey(s)));
informer.on('error', (err) => {
  console.error(`edge ${cluster}: watch failed (${String(err)}); restarting in 1s`);
  setTimeout(() => void informer.start().catch(() => undefined), 1000);
});
await informer.start();

const nextIndex = new Map<string, number>();
/** Round-robin over the Service's ready real endpoints, starting after the last one used. */
function pick(key: string, endpoints: Endpoint[], skip: Set<string>): Endpoint | undefined {
  const start = nextIndex.get(key) ?? 0;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[(start + i) % endpoints.length]!;
    if (skip.has(e.address)) continue;
    nextIndex.set(key, (start + i + 1) % endpoints.length);
    return e;
  }
  return undefined;
}

const MAX_BODY = 1 << 20;
async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Sends one request to a pod; resolves false when the connection failed before any answer. */
function forward(e: Endpoint, req: http.IncomingMessage, path: string, body: Buffer, res: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    // The body was read whole: it goes on with its length, never chunked.
    const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '', connection: 'close', 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    const upstream = http.request(
      { host: e.address, port: e.port, method: req.method, path, headers, timeout: 10_000 },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-served-by': cluster, 'x-endpoint': e.address });
        answer.pipe(res);
        answer.on('end', () => resolve(true));
        answer.on('error', () => { res.destroy(); resolve(true); });
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer from ${e.address}:${e.port} within 10 s`)));
    upstream.on('error', () => resolve(res.headersSent));
    upstream.end(body);
  });
}

const server = http.createServer((req, res) => {
  const [pathname, query] = (req.url ?? '/').split('?') as [string, string | undefined];
  const [namespace, service, ...rest] = pathname.split('/').filter(Boolean);
  const send = (status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': cluster });
    res.end(JSON.stringify(body));
  };
  if (namespace === 'healthz') return send(200, { cluster, ok: true });
  if (!namespace || !service) return send(404, { cluster, error: 'use /<namespace>/<service>/' });
  const key = `${namespace}/${service}`;
  const ready = readyEndpoints(key);
  const real = ready.filter((e) => e.real);
  if (ready.length === 0) return send(503, { cluster, error: `service ${key} has no ready endpoints in ${cluster}` });
  if (real.length === 0) return send(200, { cluster, service: key, endpoints: ready.length });
  void (async () => {
    const body = await readBody(req);
    if (!body) return send(413, { cluster, error: `request body over ${MAX_BODY} bytes` });
    const path = `/${rest.join('/')}${query === undefined ? '' : `?${query}`}`;
    const tried = new Set<string>();
    for (let attempt = 0; attempt < 2; attempt++) {
      const e = pick(key, readyEndpoints(key).filter((x) => x.real), tried);
      if (!e) break;
      tried.add(e.address);
      if (await forward(e, req, path, body, res)) return;
    }
    send(502, { cluster, error: `no ready pod of ${key} in ${cluster} answered (tried ${[...tried].join(', ') || 'none'})` });
  })();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => console.log(`edge ${cluster} listening on 127.0.0.1:${values.port}`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    void informer.stop();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
