// Network faults between the worker and the services it talks to, on loopback, for tests:
// - an HTTP(S) proxy that forwards every request and, for the ones a test picks, lets the server do the
//   work and then drops the answer (the worker sees its connection reset after the write succeeded);
//   it logs every request with its time, so a test can tell what a worker still did after some moment;
// - a TCP proxy that can cut a worker off from the Temporal server without killing it (a partition):
//   its connections stop carrying bytes, new ones are held, until `heal()`.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface ProxiedRequest {
  at: number;
  method: string;
  path: string;
  /** The answer was dropped after the server had handled the request. */
  dropped: boolean;
}

export interface AnswerDroppingProxy {
  /** Where to point the client instead of the upstream (same scheme). */
  url: string;
  requests: ProxiedRequest[];
  /** How many answers `holdAnswer` is keeping back now. */
  held(): number;
  /** Sends the answers held back, and holds none from now on. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Forwards to `upstream` (http:// or https://). With `tls`, it serves HTTPS with that certificate and
 * authenticates upstream with the same pair (a kwok cluster's admin certificate serves for 127.0.0.1 and
 * is a client certificate too). Headers go through unchanged, so a SigV4 signature made for the proxy's
 * host still verifies upstream.
 */
export async function startAnswerDroppingProxy(options: {
  upstream: string;
  tls?: { cert: Buffer; key: Buffer; ca: Buffer };
  /** Called once per request after the server answered it; true drops that answer. */
  dropAnswer: (method: string, path: string, body: Buffer) => boolean;
  /** Called once per answer not dropped; true keeps it back until `release()` (the client waits on it). */
  holdAnswer?: (method: string, path: string) => boolean;
}): Promise<AnswerDroppingProxy> {
  const upstream = new URL(options.upstream);
  const secure = upstream.protocol === 'https:';
  const agent = secure ? new https.Agent({ keepAlive: true, ...options.tls }) : new http.Agent({ keepAlive: true });
  const requests: ProxiedRequest[] = [];
  let holding: (() => void)[] | undefined = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: ProxiedRequest = { at: Date.now(), method: req.method ?? 'GET', path: req.url ?? '/', dropped: false };
      requests.push(entry);
      const headers = { ...req.headers };
      // The body is sent whole: its length is known now.
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
      const forward = (secure ? https : http).request({
        hostname: upstream.hostname, port: upstream.port, method: entry.method, path: entry.path, headers, agent,
      }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          if (options.dropAnswer(entry.method, entry.path, body)) {
            entry.dropped = true;
            req.socket.destroy();
            return;
          }
          const send = () => {
            const out = { ...answer.headers };
            delete out['transfer-encoding'];
            res.writeHead(answer.statusCode ?? 502, { ...out, 'content-length': String(Buffer.concat(parts).length) });
            res.end(Buffer.concat(parts));
          };
          if (holding && options.holdAnswer?.(entry.method, entry.path)) holding.push(send);
          else send();
        });
      });
      forward.on('error', () => req.socket.destroy());
      forward.end(body);
    });
  };
  const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${upstream.protocol}//127.0.0.1:${port}`,
    requests,
    held: () => holding?.length ?? 0,
    release() {
      const waiting = holding ?? [];
      holding = undefined;
      for (const send of waiting) send();
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}

export interface PartitionableProxy {
  /** host:port to give the worker instead of the Temporal server's. */
  address: string;
  /** From now on nothing passes, in either direction; the worker is not told. */
  partition(): void;
  /** Connections are carried again (the ones held during the partition are reset, so the client reconnects). */
  heal(): void;
  close(): Promise<void>;
}

export async function startPartitionableProxy(upstream: string): Promise<PartitionableProxy> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  let cut = false;
  const open = new Set<net.Socket>();
  const held = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => { open.delete(client); held.delete(client); });
    client.on('error', () => undefined);
    if (cut) {
      // Accepted and never answered: to the worker, a server that hangs.
      client.pause();
      held.add(client);
      return;
    }
    const server = net.connect(port, host);
    open.add(server);
    server.on('close', () => { open.delete(server); client.destroy(); });
    server.on('error', () => client.destroy());
    client.on('close', () => server.destroy());
    // Forwarding by hand (not pipe) so that a partition can stop it without closing anything.
    client.on('data', (c: Buffer) => { if (!cut) server.write(c); });
    server.on('data', (c: Buffer) => { if (!cut) client.write(c); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    partition() { cut = true; },
    heal() {
      cut = false;
      for (const s of open) s.destroy();
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
