// Payload encryption on the real local stack: a worker and a client with a payload key run the small
// catalogue workflows (one succeeds, one fails). Read back without the key, their histories hold only
// `binary/encrypted` payloads and "Encoded failure" messages, and the run's marker (in the request's
// prefix and backup id) appears nowhere. The codec server, started here on a free port, decodes them over
// HTTP for the Web UI's origin; the `temporal` CLI decodes through it with --codec-endpoint; the kubeferry
// CLI works with the key and cannot read results without it; and the Web UI in headless Chromium, set to
// use the codec server the way a user does it, shows the decrypted input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { chromium } from 'playwright-core';
import { connect, listBackups } from '../../src/client.js';
import { DEFAULT_WEB_UI_ORIGIN, payloadsFromJson, payloadsToJson, startCodecServer } from '../../src/codec/codec-server.js';
import { encryptionCodec } from '../../src/codec/data-converter.js';
import { ENCRYPTED_ENCODING } from '../../src/codec/encryption-codec.js';
import { addKey } from '../../src/codec/keys.js';
import { loadWorkerConfig, readEnvFile } from '../../src/config/worker-config.js';
import { createWorker } from '../../src/worker.js';
import type { describeBackup as describeBackupWorkflow, listBackups as listBackupsWorkflow } from '../../src/workflows/backups.js';
import { chromiumPath, saveScreenshot, webUiUrl } from '../support/browser.js';
import { quietRuntime } from '../support/runtime.js';
import { repoRoot, stackEnv } from '../support/stack.js';

const env = stackEnv();
const run = `co-${randomBytes(3).toString('hex')}`;
const marker = `codec-marker-${run}`;
const taskQueue = `kubeferry-${run}`;
const storage = { bucket: 'kubeferry', prefix: `test/${marker}` };
const missingBackup = `missing-${marker}`;
// A payload key of the test's own, never the stack's backup key.
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-codec-'));
const keyFile = path.join(keyDir, 'payload-keys');

let worker: Worker;
let running: Promise<void>;
let encrypted: Client;
let plain: Client;
let codecServer: Awaited<ReturnType<typeof startCodecServer>>;
const codecRequests: { method: string; url: string; origin?: string; namespace?: string }[] = [];

/** Every payload in a history (anything with metadata.encoding), and all of its text and bytes as one string. */
function walk(history: unknown): { payloads: Payload[]; text: string } {
  const payloads: Payload[] = [];
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') parts.push(v);
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('latin1'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const metadata = o.metadata as Record<string, unknown> | undefined;
      if (metadata && metadata.encoding instanceof Uint8Array) payloads.push(o as Payload);
      Object.values(o).forEach(visit);
    }
  };
  visit(history);
  return { payloads, text: parts.join('\n') };
}

const encodingOf = (p: Payload) => Buffer.from(p.metadata!.encoding!).toString();

function temporalCli(): string {
  const versions = readEnvFile(path.join(repoRoot, 'scripts/stack/versions.env'));
  const cache = process.env.KUBEFERRY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'kubeferry');
  const exe = path.join(cache, `temporal-cli-${versions.TEMPORAL_CLI_PY_VERSION}`, 'bin', 'temporal');
  if (!fs.existsSync(exe)) throw new Error(`the Temporal CLI is not installed (${exe}): run 'bash scripts/stack/install.sh temporal'`);
  return exe;
}

interface Ran { code: number; stdout: string; stderr: string }
function exec(file: string, args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, NO_COLOR: '1', ...extraEnv }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

before(async () => {
  quietRuntime();
  addKey(keyFile, `k-${run}`);
  const config = loadWorkerConfig(env.KUBEFERRY_CONFIG!);
  config.temporal.taskQueue = taskQueue;
  config.payloadEncryption = { keyFile };
  worker = await createWorker(config, await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS }));
  running = worker.run();
  ({ client: encrypted } = await connect({ address: env.TEMPORAL_ADDRESS, taskQueue, payloadEncryption: { keyFile } }));
  plain = new Client({ connection: await Connection.connect({ address: env.TEMPORAL_ADDRESS }) });
  codecServer = await startCodecServer({ codec: encryptionCodec({ keyFile }), port: 0 });
  // Records what reaches the codec server (the Web UI's preflight and POSTs among it).
  codecServer.server.prependListener('request', (req) => {
    codecRequests.push({ method: req.method ?? '', url: req.url ?? '', origin: req.headers.origin, namespace: req.headers['x-namespace'] as string | undefined });
  });
});

after(async () => {
  worker?.shutdown();
  await running;
  await codecServer?.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

const listId = `${run}-list`;
const describeId = `${run}-describe`;

describe('payload encryption on the local stack', () => {
  it('runs listBackups encrypted: the raw history holds only binary/encrypted payloads and not the request', async () => {
    const result = await encrypted.workflow.execute<typeof listBackupsWorkflow>('listBackups', {
      taskQueue, workflowId: listId, args: [storage, 10], staticSummary: `list backups in s3://${storage.bucket}/${storage.prefix}`,
    });
    assert.deepEqual(result, [], 'nothing under the run prefix');
    // The library path (random workflow id) works with the same client.
    assert.deepEqual(await listBackups(encrypted, taskQueue, storage), []);

    const { payloads, text } = walk(await plain.workflow.getHandle(listId).fetchHistory());
    // Input, static summary, activity input and result, workflow result at least.
    assert.ok(payloads.length >= 5, `${payloads.length} payloads in the history`);
    for (const p of payloads) assert.equal(encodingOf(p), ENCRYPTED_ENCODING, `a payload in the history is ${encodingOf(p)}`);
    assert.equal(text.includes(marker), false, `the marker ${marker} is readable in the raw history`);
    assert.equal(text.includes('json/plain'), false, 'an unencrypted JSON payload is in the raw history');

    // The client without the key cannot read the result.
    await assert.rejects(plain.workflow.getHandle(listId).result(), /binary\/encrypted|encoding/i);
  });

  it('encrypts failures too: the raw history says "Encoded failure", the client with the key gets the message', async () => {
    const handle = await encrypted.workflow.start<typeof describeBackupWorkflow>('describeBackup', {
      taskQueue, workflowId: describeId, args: [storage, missingBackup], staticSummary: `describe backup ${missingBackup}`,
    });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      let cause: unknown = err.cause;
      while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
      assert.ok(cause instanceof ApplicationFailure, String(cause));
      assert.equal(cause.type, 'BackupNotFound');
      assert.match(cause.message, new RegExp(`backup "${missingBackup}" not found`));
      return true;
    });
    const history = await plain.workflow.getHandle(describeId).fetchHistory();
    const { payloads, text } = walk(history);
    for (const p of payloads) assert.equal(encodingOf(p), ENCRYPTED_ENCODING);
    assert.equal(text.includes(marker), false, `the marker ${marker} is readable in the raw history`);
    const failed = history.events?.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes;
    assert.equal(failed?.failure?.message, 'Encoded failure');
    assert.equal(encodingOf(failed!.failure!.encodedAttributes!), ENCRYPTED_ENCODING);
  });

  it('decodes the raw history through the codec server, as the Web UI asks for it', async () => {
    const { payloads } = walk(await plain.workflow.getHandle(listId).fetchHistory());
    const preflight = await fetch(`${codecServer.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: DEFAULT_WEB_UI_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), DEFAULT_WEB_UI_ORIGIN);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);

    const res = await fetch(`${codecServer.url}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: DEFAULT_WEB_UI_ORIGIN },
      body: JSON.stringify(payloadsToJson(payloads)),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), DEFAULT_WEB_UI_ORIGIN);
    const decoded = payloadsFromJson(await res.json());
    assert.equal(decoded.length, payloads.length);
    for (const p of decoded) assert.notEqual(encodingOf(p), ENCRYPTED_ENCODING);
    const values = decoded.map((p) => defaultPayloadConverter.fromPayload<unknown>(p));
    assert.ok(values.some((v) => JSON.stringify(v) === JSON.stringify(storage)), `the workflow input ${JSON.stringify(storage)} among ${JSON.stringify(values)}`);
    assert.ok(values.includes(`list backups in s3://${storage.bucket}/${storage.prefix}`), 'the static summary');
  });

  it('lets the temporal CLI show the history decoded with --codec-endpoint', async () => {
    const cli = temporalCli();
    const args = ['workflow', 'show', '--address', env.TEMPORAL_ADDRESS!, '--workflow-id', listId, '--output', 'json'];
    // The workflow input as the CLI prints it: a payload (metadata and base64 data) or, decoded, its JSON value.
    const inputOf = (stdout: string): string => {
      const events = (JSON.parse(stdout) as { events: Record<string, { input?: { payloads?: unknown[] } }>[] }).events;
      const payload = events.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!.input!.payloads![0] as { metadata?: Record<string, string>; data?: string };
      return payload.metadata && typeof payload.data === 'string'
        ? `${Buffer.from(payload.metadata.encoding ?? '', 'base64').toString()} ${Buffer.from(payload.data, 'base64').toString('latin1')}`
        : JSON.stringify(payload);
    };
    const raw = await exec(cli, args);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(raw.stdout.includes(marker), false, 'the marker in the history without the codec');
    assert.equal(inputOf(raw.stdout).includes(storage.prefix), false);
    const decoded = await exec(cli, [...args, '--codec-endpoint', codecServer.url]);
    assert.equal(decoded.code, 0, decoded.stderr);
    const input = inputOf(decoded.stdout);
    assert.ok(input.includes(storage.prefix), `the decoded input shows the prefix: ${input}`);
    assert.equal(input.includes(ENCRYPTED_ENCODING), false, input);
  });

  it('runs the kubeferry CLI with the key, and it cannot read the results without it', async () => {
    const kubeferry = (extra: Record<string, string | undefined>) => exec(process.execPath, [path.join(repoRoot, 'bin/kubeferry.js'), 'backups', 'list', '--prefix', storage.prefix, '--output', 'json'],
      { KUBEFERRY_CONFIG: env.KUBEFERRY_CONFIG, KUBEFERRY_TASK_QUEUE: taskQueue, ...extra });
    const withKey = await kubeferry({ KUBEFERRY_PAYLOAD_KEY_FILE: keyFile });
    assert.equal(withKey.code, 0, withKey.stderr);
    assert.deepEqual(JSON.parse(withKey.stdout), []);
    const withoutKey = await kubeferry({ KUBEFERRY_PAYLOAD_KEY_FILE: undefined });
    assert.notEqual(withoutKey.code, 0, withoutKey.stdout);
    assert.match(withoutKey.stderr, /binary\/encrypted|encoding/i);
    const missingKey = await kubeferry({ KUBEFERRY_PAYLOAD_KEY_FILE: path.join(keyDir, 'nope') });
    assert.equal(missingKey.code, 3, missingKey.stderr);
    assert.match(missingKey.stderr, /payload key file .*nope does not exist/);
  });

  it('shows the decrypted input in the Web UI (headless Chromium) once its Codec Server setting names the codec server', async () => {
    const uiUrl = await webUiUrl();
    if (!fs.existsSync(chromiumPath)) throw new Error(`Chromium is not installed (${chromiumPath} is missing): run 'bash scripts/stack/install.sh debian-tools'`);
    // No request interception (it would answer CORS preflights in the browser's place): every host name
    // but 127.0.0.1 fails to resolve instead, so nothing (the UI's news feed) leaves the machine.
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'], timeout: 30_000 });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
      await page.goto(`${uiUrl}/namespaces/default/workflows/${listId}`);
      await page.getByRole('heading', { name: listId }).first().waitFor({ state: 'visible', timeout: 30_000 });
      // What a user does: the Codec Server button, "use my browser setting", the endpoint, Apply.
      await page.getByRole('button', { name: 'Configure Codec Server' }).click();
      const dialog = page.getByRole('dialog').filter({ has: page.getByRole('heading', { name: 'Codec Server' }) });
      await dialog.getByTestId('use-local-endpoint-input').check();
      await dialog.getByTestId('data-encoder-endpoint-input').fill(codecServer.url);
      const before = codecRequests.length;
      await dialog.getByRole('button', { name: 'Apply' }).click();
      await page.reload();
      try {
        await page.getByText(storage.prefix).first().waitFor({ state: 'visible', timeout: 30_000 });
      } catch (err) {
        await saveScreenshot(page, 'codec', 'failure').catch(() => undefined);
        throw new Error(`the Web UI does not show the decrypted prefix ${storage.prefix}: ${(err as Error).message.split('\n')[0]}; the codec server saw ${JSON.stringify(codecRequests.slice(before))}`);
      }
      await saveScreenshot(page, 'codec', 'decoded-input');
      const seen = codecRequests.slice(before);
      const uiOrigin = new URL(uiUrl).origin;
      const decodePath = (url: string) => url.split('?')[0]!.endsWith('/decode');
      assert.ok(seen.some((r) => r.method === 'OPTIONS' && decodePath(r.url) && r.origin === uiOrigin), `a CORS preflight from the Web UI: ${JSON.stringify(seen)}`);
      assert.ok(seen.some((r) => r.method === 'POST' && decodePath(r.url) && r.origin === uiOrigin && r.namespace === 'default'), `a POST /decode with X-Namespace: ${JSON.stringify(seen)}`);
    } finally {
      await browser.close();
    }
  });
});
