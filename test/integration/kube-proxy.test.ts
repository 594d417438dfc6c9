// A kubeconfig's proxy-url is honoured (through a real HTTP CONNECT proxy to the local source API
// server) or, when kubeferry cannot use it, refused with a message naming the kubeconfig and what to do.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { ClusterRegistry } from '../../src/kube/clusters.js';
import { apiUnavailable } from '../../src/kube/errors.js';
import { stackEnv } from '../support/stack.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-proxy-'));
const tunnels: string[] = [];
const proxy = http.createServer((_req, res) => res.writeHead(405).end());
proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
  tunnels.push(req.url ?? '');
  const [host, port] = (req.url ?? '').split(':');
  const upstream = net.connect(Number(port), host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client).pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
});

/** The stack's source kubeconfig with a proxy-url on its cluster, written to a file of its own. */
function kubeconfigWithProxy(proxyUrl: string): string {
  const doc = YAML.parse(fs.readFileSync(stackEnv().SOURCE_KUBECONFIG!, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const c of doc.clusters) c.cluster['proxy-url'] = proxyUrl;
  const file = path.join(dir, `kubeconfig-${tunnels.length}-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
  return file;
}

before(() => new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve)));
after(() => {
  proxy.closeAllConnections();
  proxy.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a kubeconfig proxy-url carries every API call through that proxy', async () => {
  const { port } = proxy.address() as net.AddressInfo;
  const kubeconfig = kubeconfigWithProxy(`http://127.0.0.1:${port}`);
  const cluster = new ClusterRegistry({ source: { kubeconfig } }).get('source');
  try {
    const version = await cluster.rest.get<{ gitVersion: string }>('/version');
    assert.match(version.gitVersion, /^v1\./);
    const namespaces = await cluster.rest.get<{ items: unknown[] }>('/api/v1/namespaces');
    assert.ok(namespaces.items.length > 0);
    const server = new URL(cluster.server);
    assert.ok(tunnels.includes(`${server.hostname}:${server.port}`), `the proxy saw ${JSON.stringify(tunnels)}, not ${server.host}`);
  } finally {
    cluster.rest.close();
  }
});

test('a kubeconfig proxy-url of a scheme kubeferry cannot use is refused naming the kubeconfig', () => {
  const kubeconfig = kubeconfigWithProxy('ftp://proxy.example:21');
  assert.throws(() => new ClusterRegistry({ source: { kubeconfig } }).get('source'), (err: Error & { type?: string; nonRetryable?: boolean }) => {
    assert.equal(err.type, 'ClusterMisconfigured');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /cluster "source"/);
    assert.ok(err.message.includes(kubeconfig), err.message);
    assert.match(err.message, /use http:\/\/, https:\/\/ or socks5:\/\//);
    return true;
  });
});

test('a proxy that does not answer is reported as the API server not answering, so the call is retried', async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise<void>((r) => closed.close(() => r()));
  const cluster = new ClusterRegistry({ source: { kubeconfig: kubeconfigWithProxy(`http://127.0.0.1:${port}`) } }).get('source');
  try {
    await assert.rejects(cluster.rest.get('/version'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ECONNREFUSED');
      assert.equal(apiUnavailable(err), true);
      return true;
    });
  } finally {
    cluster.rest.close();
  }
});
