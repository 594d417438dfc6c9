// What the API server refuses for its size alone, checked before a write so that a report names the
// object instead of a bare "413" or "Too long" in the middle of a restore.
import type { RawObject } from './raw-object.js';

const MIB = 1024 * 1024;
/** kube-apiserver refuses a request body above 3 MiB ("413 Request entity too large: limit is 3145728"). */
export const MAX_REQUEST_BYTES = 3 * MIB;
/** ConfigMaps and Secrets hold at most 1 MiB of data, keys included (Kubernetes validation, "Too long"). */
export const MAX_DATA_BYTES = MIB;

const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/** Why the API server would refuse an object for its size alone, or undefined. */
export function sizeProblem(o: RawObject): string | undefined {
  const body = Buffer.byteLength(JSON.stringify(o));
  if (body > MAX_REQUEST_BYTES) return `${mib(body)} of JSON; the API server takes at most ${mib(MAX_REQUEST_BYTES)} per request`;
  if ((o.kind === 'ConfigMap' || o.kind === 'Secret') && (o.apiVersion ?? 'v1') === 'v1') {
    const sum = (map: unknown, decode: (v: string) => number) =>
      Object.entries((map ?? {}) as Record<string, string>).reduce((n, [k, v]) => n + Buffer.byteLength(k) + decode(String(v)), 0);
    const text = (v: string) => Buffer.byteLength(v);
    const base64 = (v: string) => Buffer.from(v, 'base64').length;
    const data = o.kind === 'ConfigMap'
      ? sum(o.data, text) + sum(o.binaryData, base64)
      : sum(o.data, base64) + sum(o.stringData, text);
    if (data > MAX_DATA_BYTES) return `${mib(data)} of data; a ${o.kind} holds at most ${mib(MAX_DATA_BYTES)}`;
  }
  return undefined;
}
