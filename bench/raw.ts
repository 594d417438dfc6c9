// The limits kubeferry is measured against: a minimal direct client that creates the same objects as fast
// as the API server takes them, and one that lists them and puts them to S3 as fast as both allow. No
// rate limit, no retries, nothing kubeferry does besides the requests themselves.
import { gzipSync } from 'node:zlib';
import { KubeApiError, listPages, type KubeRest } from '../src/kube/rest.js';
import type { ObjectStore } from '../src/store/object-store.js';
import { forEachConcurrently } from '../src/concurrency.js';
import type { BenchObject } from './mix.js';

export interface Rate {
  objects: number;
  seconds: number;
  perSecond: number;
  concurrency: number;
  /** Per kind, from its first request to its last answer (objects go kind by kind). */
  byKind?: Record<string, { objects: number; seconds: number; perSecond: number }>;
}

const rate = (objects: number, ms: number, concurrency: number): Rate => ({ objects, seconds: ms / 1000, perSecond: objects / (ms / 1000), concurrency });

/** Creates the namespaces, then every object with `concurrency` requests in flight; fails on the first error. */
export async function createAll(rest: KubeRest, namespaces: readonly string[], objects: readonly BenchObject[], concurrency: number): Promise<Rate> {
  const started = performance.now();
  await forEachConcurrently(namespaces, async (name) => {
    await rest.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  }, concurrency);
  const kinds = new Map<string, { first: number; last: number; objects: number }>();
  await forEachConcurrently(objects, async (o) => {
    const kind = kinds.get(o.kind) ?? { first: performance.now(), last: 0, objects: 0 };
    kinds.set(o.kind, kind);
    await rest.request('POST', o.collection, { body: o.body });
    kind.last = performance.now();
    kind.objects += 1;
  }, concurrency);
  const byKind = Object.fromEntries([...kinds].map(([k, v]) => {
    const seconds = (v.last - v.first) / 1000;
    return [k, { objects: v.objects, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(v.objects / seconds) }];
  }));
  return { ...rate(namespaces.length + objects.length, performance.now() - started, concurrency), byKind };
}

/**
 * The best concurrency for creating objects into this API server: each candidate creates its own slice of
 * the mix into namespaces of its own; the fastest wins (ties to the lower concurrency).
 */
export async function probeCreateConcurrency(
  rest: KubeRest,
  slices: (concurrency: number) => { namespaces: string[]; objects: BenchObject[] },
  candidates: readonly number[],
): Promise<{ best: number; tried: Rate[] }> {
  const tried: Rate[] = [];
  for (const c of candidates) {
    const { namespaces, objects } = slices(c);
    tried.push(await createAll(rest, namespaces, objects, c));
  }
  const best = tried.reduce((a, b) => (b.perSecond > a.perSecond * 1.03 ? b : a));
  return { best: best.concurrency, tried };
}

export interface ListPutTarget {
  store: ObjectStore;
  bucket: string;
  prefix: string;
}

/**
 * Lists every (collection, namespace) page by page and puts each page to S3 as gzip NDJSON, `concurrency`
 * collections at a time. Returns the objects listed per second.
 */
export async function listAndPut(rest: KubeRest, collections: readonly string[], s3: ListPutTarget, concurrency: number): Promise<Rate> {
  const started = performance.now();
  let objects = 0;
  await forEachConcurrently(collections, async (collection, index) => {
    let page = 0;
    for await (const items of listPages<unknown>(rest, collection)) {
      objects += items.length;
      if (!items.length) continue;
      const body = gzipSync(Buffer.from(items.map((i) => JSON.stringify(i)).join('\n')));
      await s3.store.put(s3.bucket, `${s3.prefix}/${index}-${page++}.ndjson.gz`, body);
    }
  }, concurrency);
  return rate(objects, performance.now() - started, concurrency);
}

/** Deletes namespaces and waits until the API server has removed them and everything in them. */
export async function deleteNamespacesAndWait(rest: KubeRest, namespaces: readonly string[], timeoutMs = 900_000): Promise<void> {
  await forEachConcurrently(namespaces, async (ns) => {
    await rest.request('DELETE', `/api/v1/namespaces/${ns}`).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.code === 404)) throw err;
    });
  }, 8);
  const deadline = Date.now() + timeoutMs;
  for (const ns of namespaces) {
    for (;;) {
      const gone = await rest.get(`/api/v1/namespaces/${ns}`).then(() => false, (err: unknown) => err instanceof KubeApiError && err.code === 404);
      if (gone) break;
      if (Date.now() > deadline) throw new Error(`namespace ${ns} was still being deleted after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
