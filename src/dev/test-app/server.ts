// The test app that runs in real pods of the local clusters (image kubeferry.local/test-app, built by
// scripts/stack/images.sh): node runs this file as it is (type stripping), so it imports only node: modules
// and uses only erasable TypeScript.
//   GET  /readyz            200 once started (START_DELAY_MS) and while not draining or held unready, else 503
//   GET  /healthz           200 while the process runs (liveness)
//   GET  /data/<name>       the file <name> in DATA_DIR (a volume), 404 if absent
//   PUT  /data/<name>       writes the request body to it (201)
//   POST /control/fault     {"mode":"off"|"error"|"slow","ratio":0..1,"delayMs":N}: later answers fail or lag
//   POST /control/ready     {"ready":false|true}: holds the readiness endpoint down, or lets it up again
//   any other request       200 {"cluster","node","pod","namespace","path"} (or the fault set above)
// Its cluster is read off the node it runs on: the local stack names its real nodes kf-<cluster>-real-<n>,
// and a pod spec cannot carry it (the spec is copied as it is from one cluster to the other).
// On SIGTERM it turns unready at once and keeps answering for DRAIN_MS, as a pod should while its
// endpoint is removed from every load balancer, then closes.
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const port = Number(process.env.PORT ?? 8080);
const node = process.env.NODE_NAME ?? '';
const pod = process.env.POD_NAME ?? os.hostname();
const namespace = process.env.POD_NAMESPACE ?? '';
const dataDir = process.env.DATA_DIR ?? '/data';
const startDelayMs = Number(process.env.START_DELAY_MS ?? 0);
const drainMs = Number(process.env.DRAIN_MS ?? 3000);
const cluster = /^kf-(.+)-real-\d+$/.exec(node)?.[1] ?? (node || 'unknown');

type Fault = { mode: 'off' | 'error' | 'slow'; ratio: number; delayMs: number };
let fault: Fault = { mode: 'off', ratio: 1, delayMs: 0 };
let started = false;
let draining = false;
let heldUnready = false;
setTimeout(() => { started = true; }, startDelayMs);

const send = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-pod': pod });
  res.end(JSON.stringify(body));
};
const readBody = async (req: http.IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
const json = async (req: http.IncomingMessage): Promise<Record<string, unknown>> => {
  const text = (await readBody(req)).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
};
// A data file name: one path segment, nothing that climbs out of DATA_DIR.
const dataFile = (name: string) => (/^[A-Za-z0-9._-]+$/.test(name) && name !== '.' && name !== '..' ? path.join(dataDir, name) : undefined);

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://app');
  const route = url.pathname;
  if (route === '/healthz') return send(res, 200, { ok: true });
  if (route === '/readyz') {
    const ready = started && !draining && !heldUnready;
    return send(res, ready ? 200 : 503, { ready, started, draining, heldUnready });
  }
  if (route === '/control/fault' && req.method === 'POST') {
    const body = await json(req);
    const mode = body.mode === 'error' || body.mode === 'slow' ? body.mode : 'off';
    fault = { mode, ratio: typeof body.ratio === 'number' ? Math.min(1, Math.max(0, body.ratio)) : 1, delayMs: typeof body.delayMs === 'number' ? body.delayMs : 1000 };
    return send(res, 200, { pod, fault });
  }
  if (route === '/control/ready' && req.method === 'POST') {
    heldUnready = (await json(req)).ready === false;
    return send(res, 200, { pod, heldUnready });
  }
  if (route.startsWith('/data/')) {
    const file = dataFile(route.slice('/data/'.length));
    if (!file) return send(res, 400, { error: `a data file name is one path segment of letters, digits, '.', '_' or '-': ${route}` });
    if (req.method === 'PUT') {
      await fs.mkdir(dataDir, { recursive: true });
      await fs.writeFile(file, await readBody(req));
      return send(res, 201, { pod, written: path.basename(file) });
    }
    const content = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    return content === undefined ? send(res, 404, { pod, error: `no file ${path.basename(file)} in ${dataDir}` }) : send(res, 200, { pod, node, content });
  }
  if (fault.mode !== 'off' && Math.random() < fault.ratio) {
    if (fault.mode === 'error') return send(res, 500, { cluster, pod, error: 'fault injected: mode error' });
    await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  }
  send(res, 200, { cluster, node, pod, namespace, path: route });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: unknown) => send(res, 500, { pod, error: String(err) }));
});
server.keepAliveTimeout = 65_000;
server.listen(port, () => console.log(`test-app ${pod} on node ${node || '?'} (cluster ${cluster}) listening on :${port}`));
process.on('SIGTERM', () => {
  draining = true;
  console.log(`test-app ${pod}: SIGTERM, draining for ${drainMs} ms`);
  setTimeout(() => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  }, drainMs).unref();
});
