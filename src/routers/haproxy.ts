// HAProxy through its runtime API (the admin stats socket): one backend per entrypoint with a source
// and a target server; their weights (0..256, absolute) carry the split. A dynamic balance algorithm
// (roundrobin, leastconn) applies weight changes to the next request. Runtime weights do not survive
// an HAProxy reload, so every step sets both servers explicitly, and the migration watches them while
// it waits between steps (a reset is found, its cause told, and the weight set again).
import net from 'node:net';
import { serverWeights } from '../domain/weights.js';
import { ReadBackMismatch, RouterError, RouterUnavailable, type TrafficRouter } from './router.js';

export interface HaproxyEndpoint {
  /** Unix socket path of `stats socket ... level admin`. */
  socket?: string;
  /** host:port of a TCP admin socket, instead of a unix socket. */
  address?: string;
}

export interface HaproxyRoute {
  backend: string;
  sourceServer: string;
  targetServer: string;
}

interface ServerWeight {
  current: number;
  initial: number;
}

const NAME = /^[A-Za-z0-9_.:-]+$/;

export class HaproxyRouter implements TrafficRouter {
  constructor(private readonly endpoint: HaproxyEndpoint, private readonly route: HaproxyRoute) {
    for (const name of [route.backend, route.sourceServer, route.targetServer]) {
      // Names go into a command line on the socket: anything but a plain name could inject a command.
      if (!NAME.test(name)) throw new RouterError(`invalid HAProxy name "${name}": letters, digits and _.:- only`);
    }
    if (!endpoint.socket && !endpoint.address) throw new RouterError('HAProxy router needs an admin socket path or address');
  }

  async setWeight(percent: number): Promise<number> {
    const w = serverWeights(percent);
    const { backend, sourceServer, targetServer } = this.route;
    // Raise the side that gains first, so the backend never has both servers at weight 0. Both commands
    // go on one line of one connection: either both reach HAProxy or neither does, so a refused socket
    // never leaves the backend half-way between two weights.
    const order = w.target >= (await this.getWeight())
      ? [[targetServer, w.target], [sourceServer, w.source]] as const
      : [[sourceServer, w.source], [targetServer, w.target]] as const;
    const line = order.map(([server, weight]) => `set server ${backend}/${server} weight ${weight}`).join('; ');
    const reply = await this.command(line);
    if (reply.trim() !== '') throw new RouterError(`HAProxy refused "${line}": ${reply.trim()}`);
    const readBack = await this.getWeight();
    if (readBack !== w.target) {
      throw new ReadBackMismatch(`HAProxy backend ${backend}: set target weight ${w.target}% but read back ${readBack}%`);
    }
    return readBack;
  }

  async getWeight(): Promise<number> {
    const { backend } = this.route;
    const [source, target] = await this.readWeights();
    if (source.current + target.current === 0) throw new RouterError(`HAProxy backend ${backend}: both servers have weight 0, no traffic flows`);
    return Math.round((100 * target.current) / (source.current + target.current));
  }

  /** A reload or restart sets runtime weights back to the configuration's: say so when that is what they are. */
  async driftCause(): Promise<string | undefined> {
    const [source, target] = await this.readWeights();
    if (source.current !== source.initial || target.current !== target.initial) return undefined;
    return `HAProxy's weights of backend ${this.route.backend} are those of its configuration (${this.route.sourceServer} ${source.initial}, ` +
      `${this.route.targetServer} ${target.initial}): a reload or restart sets runtime weights back to them`;
  }

  private async readWeights(): Promise<[ServerWeight, ServerWeight]> {
    const { backend, sourceServer, targetServer } = this.route;
    // Both weights in one command line, so they are read together.
    const reply = await this.command(`get weight ${backend}/${sourceServer}; get weight ${backend}/${targetServer}`);
    const weights = [...reply.matchAll(/^(\d+) \(initial (\d+)\)/gm)].map((m) => ({ current: Number(m[1]), initial: Number(m[2]) }));
    if (weights.length !== 2) {
      // Name what HAProxy said is missing, not the weight lines that did come back.
      const problem = reply.split('\n').map((l) => l.trim()).filter((l) => l && !/^\d+ \(initial \d+\)$/.test(l)).join(' ');
      throw new RouterError(`HAProxy: cannot read the weights of ${backend}/${sourceServer} and ${backend}/${targetServer}: ${problem || '(empty reply)'}`);
    }
    return weights as [ServerWeight, ServerWeight];
  }

  /** One command per connection: HAProxy answers and closes in non-interactive mode. */
  private command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const [host, port] = (this.endpoint.address ?? '').split(':');
      const sock = this.endpoint.socket ? net.createConnection(this.endpoint.socket) : net.createConnection(Number(port), host);
      let out = '';
      // Not reaching the admin socket says nothing about the route's configuration: retried, not final.
      sock.setTimeout(5000, () => sock.destroy(new RouterUnavailable(`HAProxy admin socket did not answer "${line}" within 5 s`)));
      sock.on('connect', () => sock.end(`${line}\n`));
      sock.on('data', (chunk) => (out += chunk.toString('utf8')));
      sock.on('error', (err) => reject(err instanceof RouterUnavailable ? err : new RouterUnavailable(`HAProxy admin socket ${this.endpoint.socket ?? this.endpoint.address}: ${err.message}`)));
      sock.on('close', () => resolve(out));
    });
  }
}
