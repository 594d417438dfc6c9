// Payload encryption: the codec (round trip, tampering, unknown keys, rotation), the key file, the
// settings in both configs, the failure converter, and the codec server's HTTP protocol and CORS answers.
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadBackupKeyring } from '../../src/store/archive-crypto.js';
import { DEFAULT_WEB_UI_ORIGIN, payloadsFromJson, payloadsToJson, startCodecServer } from '../../src/codec/codec-server.js';
import { clientDataConverter, workerDataConverter } from '../../src/codec/data-converter.js';
import { ENCRYPTED_ENCODING, EncryptionCodec, METADATA_KEY_ID, PayloadDecryptionError } from '../../src/codec/encryption-codec.js';
import { failureConverter } from '../../src/codec/failure-converter.js';
import { addKey, loadPayloadKeyring, parseKeyFile } from '../../src/codec/keys.js';
import { loadCliConfig } from '../../src/config/cli-config.js';
import { ConfigError, loadWorkerConfig, readPayloadEncryption } from '../../src/config/worker-config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-codec-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
};
const KEY_A = 'aa'.repeat(32);
const KEY_B = 'bb'.repeat(32);
const fileA = write('keys-a', `old=${KEY_A}\n`);
const fileAB = write('keys-ab', `# rotated\nold=${KEY_A}\nnew = ${KEY_B}\n`);
const codecA = new EncryptionCodec(loadPayloadKeyring({ keyFile: fileA }));
const codecAB = new EncryptionCodec(loadPayloadKeyring({ keyFile: fileAB }));
const text = (p: Payload | undefined) => Buffer.from(p?.data ?? []).toString('utf8');
const meta = (p: Payload | undefined, key: string) => Buffer.from(p?.metadata?.[key] ?? []).toString('utf8');

const secret = { namespace: 'payments-prod', password: 'hunter2' };
const plainPayloads = (): Payload[] => [
  defaultPayloadConverter.toPayload(secret),
  defaultPayloadConverter.toPayload('just a string'),
  defaultPayloadConverter.toPayload(new Uint8Array([0, 1, 2, 255])),
  defaultPayloadConverter.toPayload(undefined),
];

describe('payload encryption codec', () => {
  it('round-trips payloads of every encoding, metadata included, and hides the plain text', async () => {
    const plain = plainPayloads();
    const sealed = await codecA.encode(plain);
    for (const p of sealed) {
      assert.equal(meta(p, 'encoding'), ENCRYPTED_ENCODING);
      assert.equal(meta(p, METADATA_KEY_ID), 'old');
      assert.deepEqual(Object.keys(p.metadata!).sort(), ['encoding', METADATA_KEY_ID].sort());
    }
    assert.equal(Buffer.from(sealed[0]!.data!).includes('hunter2'), false);
    assert.equal(Buffer.from(sealed[0]!.data!).includes('json/plain'), false, 'the inner metadata is encrypted too');
    const opened = await codecA.decode(sealed);
    assert.deepEqual(defaultPayloadConverter.fromPayload(opened[0]!), secret);
    assert.equal(defaultPayloadConverter.fromPayload(opened[1]!), 'just a string');
    assert.deepEqual([...defaultPayloadConverter.fromPayload<Uint8Array>(opened[2]!)], [0, 1, 2, 255]);
    assert.equal(defaultPayloadConverter.fromPayload(opened[3]!), undefined);
    opened.forEach((p, i) => assert.deepEqual(Object.keys(p.metadata!).sort(), Object.keys(plain[i]!.metadata!).sort()));
  });

  it('uses a fresh IV for each payload', async () => {
    const [x, y] = await codecA.encode([defaultPayloadConverter.toPayload(secret), defaultPayloadConverter.toPayload(secret)]);
    assert.notDeepEqual(Buffer.from(x!.data!).subarray(0, 12), Buffer.from(y!.data!).subarray(0, 12));
    assert.notDeepEqual(Buffer.from(x!.data!), Buffer.from(y!.data!));
  });

  it('passes payloads that are not encrypted through decode (histories from before encryption was on)', async () => {
    const plain = plainPayloads();
    assert.deepEqual(await codecA.decode(plain), plain);
  });

  it('refuses an altered payload', async () => {
    for (const offset of [0, 13, -1]) {
      const [sealed] = await codecA.encode([defaultPayloadConverter.toPayload(secret)]);
      const data = Buffer.from(sealed!.data!);
      data[offset < 0 ? data.length + offset : offset]! ^= 1;
      await assert.rejects(codecA.decode([{ ...sealed, data }]), (err: Error) => err instanceof PayloadDecryptionError && /key "old" failed authentication: it was altered/.test(err.message));
    }
    const [sealed] = await codecA.encode([defaultPayloadConverter.toPayload(secret)]);
    await assert.rejects(codecA.decode([{ ...sealed, data: Buffer.from(sealed!.data!).subarray(0, 20) }]), /truncated/);
  });

  it('refuses a payload whose key id was switched to another known key', async () => {
    const [sealed] = await codecA.encode([defaultPayloadConverter.toPayload(secret)]);
    const switched = { ...sealed, metadata: { ...sealed!.metadata, [METADATA_KEY_ID]: Buffer.from('new') } };
    await assert.rejects(codecAB.decode([switched]), /key "new" failed authentication/);
  });

  it('names an unknown key id, and the keys it holds', async () => {
    const [sealed] = await codecAB.encode([defaultPayloadConverter.toPayload(secret)]);
    await assert.rejects(codecA.decode([sealed!]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.match(err.message, /encrypted with key "new", which is not in .*keys-a \(it holds "old"\)/);
      return true;
    });
    const noId = { ...sealed, metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) } };
    await assert.rejects(codecA.decode([noId]), /no encryption-key-id/);
  });

  it('rotates: the newest key encrypts, the old one still decrypts, keyId picks another', async () => {
    const [oldSealed] = await codecA.encode([defaultPayloadConverter.toPayload(secret)]);
    assert.equal(codecAB.keyId, 'new');
    const [newSealed] = await codecAB.encode([defaultPayloadConverter.toPayload(secret)]);
    assert.equal(meta(newSealed, METADATA_KEY_ID), 'new');
    assert.deepEqual(defaultPayloadConverter.fromPayload((await codecAB.decode([oldSealed!]))[0]!), secret);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await codecAB.decode([newSealed!]))[0]!), secret);
    const pinned = new EncryptionCodec(loadPayloadKeyring({ keyFile: fileAB, keyId: 'old' }));
    assert.equal(meta((await pinned.encode([defaultPayloadConverter.toPayload(1)]))[0], METADATA_KEY_ID), 'old');
  });
});

describe('payload key file', () => {
  it('takes a bare key with the id a backup key of the same bytes gets', () => {
    const bare = write('bare', `${KEY_A}\n`);
    const ring = loadPayloadKeyring({ keyFile: bare });
    assert.deepEqual([...ring.keys.keys()], [loadBackupKeyring({ keyFile: bare }).current]);
    assert.equal(ring.current, loadBackupKeyring({ keyFile: bare }).current);
  });
  it('refuses malformed lines, duplicate ids, an empty file, a missing file and an unknown keyId, saying what to do', () => {
    assert.throws(() => parseKeyFile(`a=${KEY_A}\nb=1234\n`, 'f'), (e: Error) => e instanceof ConfigError && /f, line 2: expected/.test(e.message));
    assert.throws(() => parseKeyFile(`a=${KEY_A}\na=${KEY_B}\n`, 'f'), /key id "a" appears twice/);
    assert.throws(() => parseKeyFile('# nothing\n\n', 'f'), /holds no key/);
    assert.throws(() => loadPayloadKeyring({ keyFile: path.join(dir, 'missing') }), /missing does not exist: create it with 'npx tsx src\/codec\/keys.ts add/);
    assert.throws(() => loadPayloadKeyring({ keyFile: fileAB, keyId: 'other' }), /payload key "other" .* is not in .*keys-ab; it holds "old", "new"/);
  });
  it('adds keys to a new file (mode 600) and to an existing one; the added key encrypts', () => {
    const file = path.join(dir, 'added');
    const first = addKey(file, 'k1');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = addKey(file);
    const ring = loadPayloadKeyring({ keyFile: file });
    assert.deepEqual([...ring.keys.keys()], [first, second]);
    assert.equal(ring.current, second);
    assert.throws(() => addKey(file, 'k1'), /already holds key id "k1"/);
    assert.throws(() => addKey(file, 'bad id'), /key id "bad id"/);
  });
});

describe('payloadEncryption setting', () => {
  const kubeconfig = write('kubeconfig', 'apiVersion: v1\nkind: Config\n');
  const workerFile = (extra: string) => write(`worker-${Math.random().toString(36).slice(2)}.yaml`, `clusters:\n  a:\n    kubeconfig: ${kubeconfig}\n${extra}`);

  it('is off by default', () => {
    const saved = process.env.KUBEFERRY_PAYLOAD_KEY_FILE;
    delete process.env.KUBEFERRY_PAYLOAD_KEY_FILE;
    try {
      assert.equal(loadWorkerConfig(workerFile('')).payloadEncryption, undefined);
      assert.equal(loadCliConfig({ config: workerFile('') }, {}).payloadEncryption, undefined);
      assert.equal(clientDataConverter(undefined), undefined);
      assert.equal(workerDataConverter(undefined), undefined);
    } finally {
      if (saved !== undefined) process.env.KUBEFERRY_PAYLOAD_KEY_FILE = saved;
    }
  });
  it('resolves keyFile against the config file, and the environment overrides it', () => {
    const file = workerFile('payloadEncryption:\n  keyFile: keys-ab\n  keyId: old\n');
    assert.deepEqual(loadCliConfig({ config: file }, {}).payloadEncryption, { keyFile: fileAB, keyId: 'old' });
    assert.deepEqual(loadCliConfig({ config: file }, { KUBEFERRY_PAYLOAD_KEY_FILE: fileA, KUBEFERRY_PAYLOAD_KEY_ID: 'x' }).payloadEncryption, { keyFile: fileA, keyId: 'x' });
    assert.deepEqual(readPayloadEncryption(undefined, '/', { KUBEFERRY_PAYLOAD_KEY_FILE: fileA }, undefined), { keyFile: fileA });
  });
  it('refuses a section without a key file, and the backup key as the payload key', () => {
    assert.throws(() => readPayloadEncryption({ keyId: 'x' }, '/', {}, 'c.yaml'), /c.yaml: payload encryption needs a key file/);
    assert.throws(() => readPayloadEncryption('keys', '/', {}, 'c.yaml'), /must be a mapping/);
    assert.throws(() => loadWorkerConfig(workerFile(`backupEncryption:\n  keyFile: ${fileA}\npayloadEncryption:\n  keyFile: ${fileA}\n`)), /payloadEncryption.keyFile is the backup key file/);
  });
  it('gives the worker a failure converter path and the codec', () => {
    const worker = workerDataConverter({ keyFile: fileA })!;
    assert.ok(fs.existsSync(worker.failureConverterPath));
    assert.equal(worker.payloadCodecs[0]!.keyId, 'old');
  });
});

describe('failure converter', () => {
  it('moves message and stack trace into a payload, which the codec then encrypts', async () => {
    const failure = failureConverter.errorToFailure(ApplicationFailure.nonRetryable('backup "payments-prod-1" not found', 'BackupNotFound'), defaultPayloadConverter);
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    assert.match(text(failure.encodedAttributes!), /payments-prod-1/);
    const [sealed] = await codecA.encode([failure.encodedAttributes!]);
    assert.equal(Buffer.from(sealed!.data!).includes('payments-prod-1'), false);
    const back = failureConverter.failureToError({ ...failure, encodedAttributes: (await codecA.decode([sealed!]))[0]! }, defaultPayloadConverter);
    assert.equal(back.message, 'backup "payments-prod-1" not found');
  });
});

describe('codec server', () => {
  const tokenFile = 'token-123';
  let plain: { url: string; close(): Promise<void> };
  let guarded: { url: string; close(): Promise<void> };
  before(async () => {
    plain = await startCodecServer({ codec: codecAB, port: 0 });
    guarded = await startCodecServer({ codec: codecAB, port: 0, token: tokenFile, origins: ['http://ui.example:8080'] });
  });
  after(async () => {
    await plain?.close();
    await guarded?.close();
  });
  const post = (base: string, route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('encodes and decodes payloads in protobuf JSON, under any path prefix', async () => {
    const wire = payloadsToJson(plainPayloads());
    assert.equal(wire.payloads[0]!.metadata!.encoding, Buffer.from('json/plain').toString('base64'));
    const enc = await post(plain.url, '/encode', wire);
    assert.equal(enc.status, 200);
    assert.match(enc.headers.get('content-type') ?? '', /^application\/json/);
    const encoded = await enc.json() as { payloads: { metadata: Record<string, string> }[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
    const dec = await post(plain.url, '/some/prefix/decode', encoded, { Origin: DEFAULT_WEB_UI_ORIGIN });
    assert.equal(dec.status, 200);
    assert.equal(dec.headers.get('access-control-allow-origin'), DEFAULT_WEB_UI_ORIGIN);
    assert.equal(dec.headers.get('access-control-allow-credentials'), 'true');
    const decoded = payloadsFromJson(await dec.json());
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded[0]!), secret);
    assert.equal(defaultPayloadConverter.fromPayload(decoded[1]!), 'just a string');
  });

  it('answers the Web UI preflight for its origin with the headers it sends', async () => {
    const res = await fetch(`${plain.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: DEFAULT_WEB_UI_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), DEFAULT_WEB_UI_ORIGIN);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowed.includes(h), `${h} in ${allowed.join(',')}`);
    assert.match(res.headers.get('vary') ?? '', /Origin/);
  });

  it('refuses other origins, without CORS headers', async () => {
    for (const method of ['OPTIONS', 'POST']) {
      const res = await fetch(`${plain.url}/decode`, { method, headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json' }, ...(method === 'POST' ? { body: '{"payloads":[]}' } : {}) });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    }
  });

  it('with a token: the preflight is open, the POST needs Authorization: Bearer <token>', async () => {
    const pre = await fetch(`${guarded.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://ui.example:8080', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://ui.example:8080');
    const denied = await post(guarded.url, '/decode', { payloads: [] });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await post(guarded.url, '/decode', { payloads: [] }, { Authorization: 'Bearer wrong' })).status, 401);
    const ok = await post(guarded.url, '/decode', { payloads: [] }, { Authorization: `Bearer ${tokenFile}` });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { payloads: [] });
  });

  it('answers 400 with the reason for bad bodies and undecodable payloads, 415 for non-JSON, 404 elsewhere', async () => {
    assert.equal((await post(plain.url, '/decode', 'not json')).status, 400);
    assert.equal((await post(plain.url, '/decode', { nope: 1 })).status, 400);
    assert.equal((await post(plain.url, '/decode', { payloads: [{ data: '***' }] })).status, 400);
    const [foreign] = await new EncryptionCodec(loadPayloadKeyring({ keyFile: write('other', `stranger=${'cc'.repeat(32)}\n`) })).encode([defaultPayloadConverter.toPayload(1)]);
    const unknown = await post(plain.url, '/decode', payloadsToJson([foreign!]));
    assert.equal(unknown.status, 400);
    const said = ((await unknown.json()) as { message: string }).message;
    assert.match(said, /key "stranger", which this codec server does not hold/);
    // Neither the key file's path nor the ids of the keys it holds reach an HTTP caller.
    assert.doesNotMatch(said, /keys-ab|"old"|"new"/);
    const form = await fetch(`${plain.url}/decode`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"payloads":[]}' });
    assert.equal(form.status, 415);
    assert.equal((await fetch(`${plain.url}/other`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${plain.url}/health`)).status, 200);
  });

  it('answers "*" with a literal "*" and no credentials, never by echoing the origin', async () => {
    const any = await startCodecServer({ codec: codecAB, port: 0, origins: ['*'] });
    try {
      const res = await post(any.url, '/decode', { payloads: [] }, { Origin: 'http://some.page' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('access-control-allow-credentials'), null);
    } finally {
      await any.close();
    }
  });

  it('refuses to listen beyond the loopback interface without a token', async () => {
    await assert.rejects(startCodecServer({ codec: codecAB, port: 0, host: '0.0.0.0' }), (e: Error) => e instanceof ConfigError && /without a token.*--token-file/.test(e.message));
  });

  it('answers 413 to a body over the limit as soon as it says so, without reading it', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${plain.url}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': 64 * 1024 * 1024 } }, (res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024)); // 1 KiB of the 64 MiB it announced: the answer comes before the rest
    });
    assert.equal(status, 413);
  });
});
