// The HTTP edge of one local cluster: it stands in for that cluster's ingress, because kwok's pods run
// no processes. Like an ingress controller, it answers for a Service only while the Service has ready
// endpoints in its cluster (watched from the real API server's EndpointSlices), and 503 otherwise.
//   GET /<namespace>/<service>/...  -> 200 {cluster, service} or 503
//   GET /healthz                    -> 200
import http from 'node:http';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';

const { values } = parseArgs({
  options: { cluster: { type: 'string' }, kubeconfig: { type: 'string' }, port: { type: 'string' } },
});
if (!values.cluster || !values.kubeconfig || !values.port) {
  console.error('usage: cluster-edge --cluster NAME --kubeconfig FILE --port PORT');
  process.exit(2);
}
const cluster = values.cluster;

const kc = new k8s.KubeConfig();
kc.loadFromFile(values.kubeconfig);
const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);

/** Ready endpoints per EndpointSlice, keyed by slice; summed per Service on lookup. */
const slices = new Map<string, { service: string; ready: number }>();
const sliceKey = (s: k8s.V1EndpointSlice) => `${s.metadata?.namespace}/${s.metadata?.name}`;
const record = (s: k8s.V1EndpointSlice) => {
  const service = s.metadata?.labels?.['kubernetes.io/service-name'];
  if (!service) return;
  const ready = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
  slices.set(sliceKey(s), { service: `${s.metadata?.namespace}/${service}`, ready });
};
const readyEndpoints = (service: string) =>
  [...slices.values()].filter((s) => s.service === service).reduce((sum, s) => sum + s.ready, 0);

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

const server = http.createServer((req, res) => {
  const [namespace, service] = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean);
  const send = (status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': cluster });
    res.end(JSON.stringify(body));
  };
  if (namespace === 'healthz') return send(200, { cluster, ok: true });
  if (!namespace || !service) return send(404, { cluster, error: 'use /<namespace>/<service>/' });
  const key = `${namespace}/${service}`;
  const ready = readyEndpoints(key);
  if (ready === 0) return send(503, { cluster, error: `service ${key} has no ready endpoints in ${cluster}` });
  send(200, { cluster, service: key, endpoints: ready });
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
