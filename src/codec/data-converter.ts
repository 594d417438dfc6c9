// Payload encryption for the worker and for clients (the CLI, src/client.ts): the same codec and the same
// failure converter on both sides, built from the `payloadEncryption` setting. Without it, nothing changes.
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter, type LoadedDataConverter } from '@temporalio/common';
import type { PayloadEncryptionSettings } from '../config/worker-config.js';
import { EncryptionCodec } from './encryption-codec.js';
import { failureConverter } from './failure-converter.js';
import { loadPayloadKeyring } from './keys.js';

export const failureConverterPath = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));

/** The codec for `payloadEncryption`; reads the key file (ConfigError when it is missing or malformed). */
export function encryptionCodec(settings: PayloadEncryptionSettings): EncryptionCodec {
  return new EncryptionCodec(loadPayloadKeyring(settings));
}

/**
 * A client's data converter: `new Client({ connection, dataConverter })`. Undefined when encryption is off.
 * Already loaded (the client takes one as it is), so the client needs no `require()` of a .ts path.
 */
export function clientDataConverter(settings: PayloadEncryptionSettings | undefined): LoadedDataConverter | undefined {
  if (!settings) return undefined;
  return { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: [encryptionCodec(settings)] };
}

/**
 * A worker's data converter (`Worker.create({ dataConverter })`): the codec runs in the worker's main
 * thread, outside the workflow sandbox; the failure converter is loaded by path, also into the bundle.
 */
export function workerDataConverter(settings: PayloadEncryptionSettings | undefined): { payloadCodecs: EncryptionCodec[]; failureConverterPath: string } | undefined {
  if (!settings) return undefined;
  return { payloadCodecs: [encryptionCodec(settings)], failureConverterPath };
}
