// The codec server: lets the Temporal Web UI (and the `temporal` CLI) show encrypted payloads in clear,
// with the same key file as the worker. Temporal's remote codec protocol: POST <endpoint>/decode and
// POST <endpoint>/encode, body and answer `{"payloads": [{"metadata": {"encoding": "<base64>"}, "data":
// "<base64>"}]}` (Payloads in protobuf JSON), 400 for a body or a payload it cannot handle. Only the last
// path segment counts, so it can be mounted under any prefix.
//
// The Web UI calls it from the browser, so it answers CORS: the preflight (OPTIONS) and the POST for the
// configured origins only (default the local Web UI, http://127.0.0.1:8233), allowing the headers the UI
// sends (Content-Type, X-Namespace, Authorization) and credentials; other origins get 403. Requests with
// no Origin (curl, the `temporal` CLI) are not browser requests and are served. With a token configured,
// /encode and /decode need `Authorization: Bearer <token>`. Binds 127.0.0.1 by default.
//
//   npm run codec-server -- [--config FILE] [--key-file FILE] [--key-id ID] [--host H] [--port P]
//                           [--origin URL ...] [--token-file FILE]
import { timingSafeEqual, createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { loadCliConfig } from '../config/cli-config.js';
import { ConfigError } from '../config/worker-config.js';
import { encryptionCodec } from './data-converter.js';

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_WEB_UI_ORIGIN = 'http://127.0.0.1:8233';
/** What the Web UI sends besides simple headers; answered in every preflight. */
const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call (exact, e.g. http://127.0.0.1:8233); `*` allows any. Default: the local Web UI. */
  origins?: string[];
  /** When set, /encode and /decode need `Authorization: Bearer <token>`. */
  token?: string;
}

interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

class BadRequest extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function base64(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new BadRequest(`${what} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

/** Payloads in protobuf JSON (bytes as base64) to SDK payloads. */
export function payloadsFromJson(body: unknown): Payload[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { payloads?: unknown }).payloads)) {
    throw new BadRequest('the body must be {"payloads": [...]}');
  }
  return (body as { payloads: unknown[] }).payloads.map((p, i) => {
    if (typeof p !== 'object' || p === null) throw new BadRequest(`payloads[${i}] must be an object`);
    const { metadata, data } = p as JsonPayload;
    if (metadata !== undefined && metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw new BadRequest(`payloads[${i}].metadata must be an object`);
    return {
      metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, base64(v, `payloads[${i}].metadata.${k}`)])),
      data: data === undefined || data === null ? new Uint8Array() : base64(data, `payloads[${i}].data`),
    };
  });
}

/** SDK payloads to protobuf JSON. */
export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\./.test(host);

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The server, not yet listening: `server.listen(port, host)`, or use `startCodecServer`. */
export function createCodecServer(options: CodecServerOptions): http.Server {
  const origins = new Set(options.origins?.length ? options.origins : [DEFAULT_WEB_UI_ORIGIN]);
  const tokenDigest = options.token ? digest(`Bearer ${options.token}`) : undefined;

  const send = (res: http.ServerResponse, status: number, body?: unknown, headers: http.OutgoingHttpHeaders = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }) });
    res.end(text);
  };

  return http.createServer((req, res) => {
    const origin = req.headers.origin;
    // Only the answer to an allowed origin carries CORS headers; a browser on any other page gets nothing it may read.
    const cors: http.OutgoingHttpHeaders = { Vary: 'Origin' };
    if (origin !== undefined) {
      if (!origins.has(origin) && !origins.has('*')) {
        send(res, 403, { message: `origin ${origin} is not allowed; start the codec server with --origin ${origin} (or KUBEFERRY_CODEC_ORIGINS)` }, cors);
        req.resume();
        return;
      }
      // `*` is a literal `*` without credentials: echoing any origin back with credentials would let every
      // page the operator visits decode the history through their browser.
      Object.assign(cors, origins.has(origin)
        ? { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' }
        : { 'Access-Control-Allow-Origin': '*' });
    }
    const endpoint = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '').split('/').at(-1);

    if (req.method === 'GET' && endpoint === 'health') return send(res, 200, { status: 'ok' }, cors);
    if (endpoint !== 'encode' && endpoint !== 'decode') return send(res, 404, { message: 'not found: POST /encode or /decode' }, cors);
    if (req.method === 'OPTIONS') {
      // The preflight carries no Authorization (browsers never send credentials on it): answered without the token check.
      return send(res, 204, undefined, {
        ...cors,
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': ALLOWED_HEADERS,
        'Access-Control-Max-Age': '600',
      });
    }
    if (req.method !== 'POST') return send(res, 405, { message: 'use POST' }, { ...cors, Allow: 'POST, OPTIONS' });
    if (tokenDigest) {
      const given = req.headers.authorization;
      if (!given || !timingSafeEqual(digest(given), tokenDigest)) {
        req.resume();
        return send(res, 401, { message: 'a valid Authorization: Bearer <token> header is required' }, { ...cors, 'WWW-Authenticate': 'Bearer' });
      }
    }
    // JSON only: a browser cannot send that cross-origin without the preflight above.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      req.resume();
      return send(res, 415, { message: 'Content-Type must be application/json' }, cors);
    }

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      send(res, 413, { message: `the body is larger than ${MAX_BODY_BYTES} bytes` }, { ...cors, Connection: 'close' });
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (!res.headersSent) {
        // Not read to its end: answered at once, and the connection closed.
        send(res, 413, { message: `the body is larger than ${MAX_BODY_BYTES} bytes` }, { ...cors, Connection: 'close' });
        req.destroy();
      }
    });
    req.on('end', () => {
      if (res.headersSent) return;
      void (async () => {
        try {
          if (size > MAX_BODY_BYTES) throw new BadRequest(`the body is larger than ${MAX_BODY_BYTES} bytes`, 413);
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            throw new BadRequest('the body is not JSON');
          }
          const payloads = payloadsFromJson(body);
          const out = endpoint === 'decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
          send(res, 200, payloadsToJson(out), cors);
        } catch (err) {
          // Decoding errors (unknown key id, altered payload) are the caller's: 400 with the reason, as the protocol
          // says, but without the key file's path or the ids of the keys it holds (the worker's log has those).
          const message = err instanceof Error ? err.message : String(err);
          send(res, err instanceof BadRequest ? err.status : 400, { message: message.replace(/ which is not in .*$/, ' which this codec server does not hold').replace(/ in \S+ is not the key/, ' is not the key') }, cors);
        }
      })();
    });
    req.on('error', () => res.destroy());
  });
}

/** Starts a codec server and resolves once it listens; port 0 picks a free one. */
export async function startCodecServer(options: CodecServerOptions & { host?: string; port?: number }): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  // Whoever reaches it decodes the whole history: off the loopback interface, only with a token.
  if (!isLoopback(host) && !options.token) {
    throw new ConfigError(`the codec server would listen on ${host} without a token: anyone who reaches it could decrypt every workflow's data. ` +
      'Pass --token-file (or KUBEFERRY_CODEC_TOKEN_FILE), or listen on 127.0.0.1');
  }
  const server = createCodecServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_CODEC_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'key-file': { type: 'string' },
      'key-id': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      origin: { type: 'string', multiple: true },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: npm run codec-server -- [--config FILE] [--key-file FILE] [--key-id ID] [--host 127.0.0.1] [--port 8888] [--origin URL ...] [--token-file FILE]');
    return;
  }
  const env = process.env;
  const config = loadCliConfig({ ...(values.config ? { config: values.config } : {}) });
  const keyFile = values['key-file'] ?? config.payloadEncryption?.keyFile;
  if (!keyFile) {
    throw new ConfigError(`no payload key file: pass --key-file, set payloadEncryption.keyFile in ${config.file ?? 'the config file'} or KUBEFERRY_PAYLOAD_KEY_FILE`);
  }
  const keyId = values['key-id'] ?? (values['key-file'] ? undefined : config.payloadEncryption?.keyId);
  const codec = encryptionCodec({ keyFile, ...(keyId ? { keyId } : {}) });
  const port = Number(values.port ?? env.KUBEFERRY_CODEC_PORT ?? DEFAULT_CODEC_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`port "${values.port ?? env.KUBEFERRY_CODEC_PORT}" is not a port number`);
  const origins = values.origin ?? env.KUBEFERRY_CODEC_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean) ?? [config.temporal.webUi ?? DEFAULT_WEB_UI_ORIGIN];
  const tokenFile = values['token-file'] ?? env.KUBEFERRY_CODEC_TOKEN_FILE;
  const token = tokenFile ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined;
  if (tokenFile && !token) throw new ConfigError(`token file ${tokenFile} is empty`);
  const host = values.host ?? env.KUBEFERRY_CODEC_HOST ?? '127.0.0.1';
  const { url, close } = await startCodecServer({ codec, origins, host, port, ...(token ? { token } : {}) });
  console.log(`kubeferry codec server: ${url} (POST /encode, /decode); keys from ${keyFile}, encrypting with "${codec.keyId}"; ` +
    `browser origins: ${origins.join(', ')}; ${token ? 'bearer token required' : 'no token'}`);
  const stop = () => void close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`kubeferry codec server: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
