// A small REST client for the Kubernetes API that moves objects as raw JSON. The generated typed
// clients drop fields their model does not know (a field added by a newer API server, a custom
// resource's spec), which a migration must never do; this one reads and writes exactly what the server
// sends. Connections are kept alive and requests are paced by a client-side rate limit.
import https from 'node:https';
import http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { TokenBucket } from './rate-limit.js';

/** A failed API call; `code` is the HTTP status and `body` what the server said (a Status object). */
export class KubeApiError extends Error {
  /** Which of listManyAhead's collections failed. */
  listIndex?: number;

  constructor(readonly code: number, readonly body: string, method: string, path: string) {
    super(`${method} ${path}: HTTP ${code}: ${statusMessage(body)}`);
    this.name = 'KubeApiError';
  }
}

function statusMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string };
    if (parsed.message) return parsed.message;
  } catch {
    // not JSON: fall through
  }
  return body.slice(0, 300);
}

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
}

export class KubeRest {
  private agent?: https.Agent;
  private readonly limiter?: TokenBucket;
  readonly server: string;

  constructor(private readonly kc: KubeConfig, private readonly options: KubeRestOptions = {}) {
    this.server = (kc.getCurrentCluster()?.server ?? '').replace(/\/+$/, '');
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
    const agent = isHttps ? this.keepAliveAgent(opts) : undefined;
    const transport = isHttps ? https : http;
    const text = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = transport.request(url, { method, headers, agent, auth: opts.auth }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      // Shorter than the activities' heartbeat timeout, so a hung API server is retried, not waited out.
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer from ${this.server} within 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
    if (text.status < 200 || text.status >= 300) throw new KubeApiError(text.status, text.body, method, url.pathname);
    return (text.body ? JSON.parse(text.body) : undefined) as T;
  }

  /** One keep-alive agent per client, with the TLS material the kubeconfig gave. */
  private keepAliveAgent(opts: https.RequestOptions): https.Agent {
    this.agent ??= new https.Agent({
      keepAlive: true,
      maxSockets: this.options.maxSockets ?? 32,
      ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      servername: opts.servername,
    });
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

/** Lists a collection page by page; the caller handles each page before the next is fetched. */
export async function* listPages<T = Record<string, unknown>>(
  rest: KubeRest,
  path: string,
  options: { labelSelector?: string; limit?: number; metadataOnly?: boolean } = {},
): AsyncGenerator<T[]> {
  let continueToken: string | undefined;
  do {
    const page = await rest.get<ListPage<T>>(path, {
      query: { limit: options.limit ?? 500, continue: continueToken, labelSelector: options.labelSelector },
      ...(options.metadataOnly ? { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;q=0.9' } : {}),
    });
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
  options: { labelSelector?: string; window?: number } = {},
): AsyncGenerator<{ index: number; items: T[] }> {
  const window = Math.max(1, options.window ?? 8);
  const first = (path: string) => {
    const page = rest.get<ListPage<T>>(path, { query: { limit: 500, labelSelector: options.labelSelector } });
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
      const query = { limit: 500, continue: page.metadata.continue, labelSelector: options.labelSelector };
      page = await inTurn(i, rest.get<ListPage<T>>(paths[i]!, { query }));
      yield { index: i, items: page.items ?? [] };
    }
  }
}
