// A small REST client for the Kubernetes API that moves objects as raw JSON. The generated typed
// clients drop fields their model does not know (a field added by a newer API server, a custom
// resource's spec), which a migration must never do; this one reads and writes exactly what the server
// sends. Connections are kept alive and requests are paced by a client-side rate limit.
import { createHash } from 'node:crypto';
import https from 'node:https';
import http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { TokenBucket } from './rate-limit.js';
import { KubeApiError, retryAfterMs, withApiRetry } from './errors.js';

export { KubeApiError } from './errors.js';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export interface KubeRestOptions {
  /** Requests per second towards this API server (client-side limit); 0 or undefined = unlimited. */
  qps?: number;
  burst?: number;
  maxSockets?: number;
  /** Accept a kubeconfig that skips TLS verification or names a plain-http server. */
  allowInsecure?: boolean;
}

/** Proxies a kubeconfig's `proxy-url` may name, as kubectl takes them. */
/** The largest answer read: far above any page kubeferry asks for, well below V8's longest string (~512 MiB). */
export const MAX_BODY_BYTES = 256 * 2 ** 20;

const PROXY_SCHEMES = ['http:', 'https:', 'socks5:', 'socks5h:', 'socks4:', 'socks4a:', 'socks:'];

/** Why a kubeconfig's `proxy-url` cannot be used, or undefined when it can (or there is none). */
export function proxyUrlProblem(proxyUrl: string | undefined): string | undefined {
  if (!proxyUrl) return undefined;
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    return `proxy-url "${proxyUrl}" is not a URL`;
  }
  if (!PROXY_SCHEMES.includes(url.protocol)) {
    return `proxy-url "${url.protocol}//${url.host}" has a scheme kubeferry cannot use; use http://, https:// or socks5://`;
  }
  return undefined;
}

export class KubeRest {
  private agent?: http.Agent;
  private agentMaterial?: string;
  private readonly limiter?: TokenBucket;
  readonly server: string;
  /** The kubeconfig's proxy-url for this cluster, honoured as kubectl does (HTTP CONNECT or SOCKS). */
  readonly proxyUrl?: string;

  constructor(private readonly kc: KubeConfig, private readonly options: KubeRestOptions = {}) {
    const cluster = kc.getCurrentCluster();
    this.server = (cluster?.server ?? '').replace(/\/+$/, '');
    const problem = proxyUrlProblem(cluster?.proxyUrl);
    if (problem) throw new Error(`cluster "${cluster?.name}" in the kubeconfig: ${problem}`);
    if (cluster?.proxyUrl) this.proxyUrl = cluster.proxyUrl;
    // Either lets anyone on the path read the credentials and forge the answers: refused unless asked for.
    if (!options.allowInsecure && cluster?.skipTLSVerify) throw new Error(`cluster "${cluster.name}" skips TLS verification (insecure-skip-tls-verify); give its certificate-authority instead`);
    if (!options.allowInsecure && this.server.startsWith('http://')) throw new Error(`cluster "${cluster?.name}" is served over plain http (${this.server}); use its https address`);
    if (options.qps && options.qps > 0) this.limiter = new TokenBucket(options.qps, options.burst ?? Math.ceil(options.qps));
  }

  get<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    await this.limiter?.take();
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const opts: https.RequestOptions = { method, headers: {} };
    // Applied per request: exec and token credentials may refresh.
    await this.kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {
      ...(opts.headers as Record<string, string>),
      Accept: options.accept ?? 'application/json',
    };
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const isHttps = url.protocol === 'https:';
    const agent = isHttps || this.proxyUrl ? this.keepAliveAgent(opts, isHttps) : undefined;
    const transport = isHttps ? https : http;
    const text = await new Promise<{ status: number; body: string; retryAfter?: string }>((resolve, reject) => {
      // TLS material in the request too: proxy agents (SOCKS) take it from there, not from themselves.
      const tlsOptions = { ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, servername: opts.servername,
        ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}) };
      const req = transport.request(url, { method, headers, agent, auth: opts.auth, ...(isHttps ? tlsOptions : {}) }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          // A body V8 cannot hold as one string would throw inside 'end', out of reach of any caller: stop
          // reading at the bound and say what to do (smaller pages, a narrower selection).
          if (bytes > MAX_BODY_BYTES) {
            res.destroy();
            reject(new KubeApiError(413, `the answer of ${this.server} to ${method} ${url.pathname} exceeds ${MAX_BODY_BYTES / 2 ** 20} MiB; ` +
              'list fewer objects per page or select fewer', method, url.pathname));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      });
      // Shorter than the activities' heartbeat timeout, so a hung API server is retried, not waited out.
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer from ${this.server} within 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
    if (text.status < 200 || text.status >= 300) throw new KubeApiError(text.status, text.body, method, url.pathname, retryAfterMs(text.retryAfter));
    try {
      return (text.body ? JSON.parse(text.body) : undefined) as T;
    } catch {
      // JSON.parse's own message quotes the body, which may hold Secret data.
      throw new Error(`${method} ${url.pathname}: the answer of ${this.server} is not JSON (${text.body.length} characters)`);
    }
  }

  /**
   * One keep-alive agent per client, with the TLS material the kubeconfig gave, through its proxy if it
   * names one; made again when that material changes (an exec plugin that rotates client certificates).
   */
  private keepAliveAgent(opts: https.RequestOptions, isHttps: boolean): http.Agent {
    const material = createHash('sha256').update([opts.ca, opts.cert, opts.key, opts.pfx].map((m) => String(m ?? '')).join('\0')).digest('hex');
    if (this.agent && this.agentMaterial === material) return this.agent;
    this.agent?.destroy();
    this.agentMaterial = material;
    const options: https.AgentOptions = {
      keepAlive: true,
      maxSockets: this.options.maxSockets ?? 32,
      ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      servername: opts.servername,
    };
    if (this.proxyUrl?.startsWith('socks')) this.agent = new SocksProxyAgent(this.proxyUrl, options);
    else if (this.proxyUrl) this.agent = isHttps ? new HttpsProxyAgent({ ...options, proxy: this.proxyUrl }) : new HttpProxyAgent({ ...options, proxy: this.proxyUrl });
    else this.agent = new https.Agent(options);
    return this.agent;
  }

  close(): void {
    this.agent?.destroy();
  }
}

/** Where a resource type lives in the API. */
export interface ResourcePath {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
}

/** The URL path of a type's collection (in a namespace, if namespaced) or of one object of it. */
export function resourcePath(t: ResourcePath, namespace?: string, name?: string): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${t.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export interface ListPage<T> {
  items: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/**
 * One page of a list, read again with the same continue token when the server was briefly away (429,
 * 5xx, no answer): one lost answer must not fail a backup of thousands of objects.
 */
function readPage<T>(rest: KubeRest, path: string, query: RequestOptions['query'], accept?: string): Promise<ListPage<T>> {
  return withApiRetry(() => rest.get<ListPage<T>>(path, { query, accept }));
}

/** Lists a collection page by page; the caller handles each page before the next is fetched. */
export async function* listPages<T = Record<string, unknown>>(
  rest: KubeRest,
  path: string,
  options: { labelSelector?: string; limit?: number; metadataOnly?: boolean } = {},
): AsyncGenerator<T[]> {
  let continueToken: string | undefined;
  do {
    const page = await readPage<T>(rest, path, { limit: options.limit ?? 500, continue: continueToken, labelSelector: options.labelSelector },
      options.metadataOnly ? 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;q=0.9' : undefined);
    yield page.items ?? [];
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
}

/**
 * The pages of several collections, in order, with the first page of up to `window` collections ahead
 * already requested: a selection of many small namespaces costs round trips, not bytes. Each page comes
 * with the index of its collection; an error is thrown in its collection's turn.
 */
export async function* listManyAhead<T = Record<string, unknown>>(
  rest: KubeRest,
  paths: readonly string[],
  options: { labelSelector?: string; window?: number; limit?: number } = {},
): AsyncGenerator<{ index: number; items: T[] }> {
  const window = Math.max(1, options.window ?? 8);
  const limit = options.limit ?? 500;
  const first = (path: string) => {
    const page = readPage<T>(rest, path, { limit, labelSelector: options.labelSelector });
    page.catch(() => undefined); // awaited in its turn
    return page;
  };
  const ahead: Promise<ListPage<T>>[] = [];
  const inTurn = async (i: number, page: Promise<ListPage<T>>) => {
    try {
      return await page;
    } catch (err) {
      if (err instanceof KubeApiError) err.listIndex = i;
      throw err;
    }
  };
  for (let i = 0; i < paths.length; i++) {
    while (ahead.length < window && i + ahead.length < paths.length) ahead.push(first(paths[i + ahead.length]!));
    let page = await inTurn(i, ahead.shift()!);
    yield { index: i, items: page.items ?? [] };
    while (page.metadata?.continue) {
      const query = { limit, continue: page.metadata.continue, labelSelector: options.labelSelector };
      page = await inTurn(i, readPage<T>(rest, paths[i]!, query));
      yield { index: i, items: page.items ?? [] };
    }
  }
}
