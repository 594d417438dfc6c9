// A PayloadCodec that encrypts every Temporal payload with AES-256-GCM. The whole payload (its metadata,
// such as `encoding: json/plain`, and its data) is serialized as a temporal.api.common.v1.Payload message
// and encrypted with a random 12-byte IV; what Temporal stores is a payload with
//   metadata: encoding = binary/encrypted, encryption-key-id = <key id>
//   data:     IV (12 bytes) | ciphertext | authentication tag (16 bytes)
// The key id is authenticated as well (GCM additional data), so it cannot be swapped. Decoding picks the
// key by the stored id, so a codec that holds old and new keys reads histories written with either; a
// payload that is not `binary/encrypted` passes through unchanged (histories from before encryption was
// turned on still replay).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import protobuf from 'protobufjs';
import type { PayloadKeyring } from './keys.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload that cannot be decrypted: unknown key id, missing id, altered or truncated data. */
export class PayloadDecryptionError extends ValueError {
  override name = 'PayloadDecryptionError';
}

// The wire form of temporal.api.common.v1.Payload's metadata (1) and data (2), from a protobufjs
// reflection type, so that the SDK's generated protos are not needed here.
const PayloadMessage = new protobuf.Root()
  .add(new protobuf.Type('Payload').add(new protobuf.MapField('metadata', 1, 'string', 'bytes')).add(new protobuf.Field('data', 2, 'bytes')))
  .lookupType('Payload');

const utf8 = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);
const aad = (keyId: string) => Buffer.from(`kubeferry-payload:${keyId}`, 'utf8');

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  /** The id of the key that encrypts. */
  get keyId(): string {
    return this.keyring.current;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  encrypt(payload: Payload): Payload {
    if (payload.externalPayloads?.length) throw new ValueError('payload encryption does not support externally stored payloads');
    const keyId = this.keyring.current;
    const key = this.keyring.keys.get(keyId)!;
    const plain = PayloadMessage.encode(PayloadMessage.fromObject({ metadata: payload.metadata ?? {}, data: payload.data ?? new Uint8Array() })).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad(keyId));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: Buffer.from(keyId),
      },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  decrypt(payload: Payload): Payload {
    if (utf8(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = utf8(payload.metadata?.[METADATA_KEY_ID]);
    if (!keyId) throw new PayloadDecryptionError(`an encrypted payload has no ${METADATA_KEY_ID} in its metadata`);
    const key = this.keyring.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(`a payload is encrypted with key "${keyId}", which is not in ${this.keyring.source} ` +
        `(it holds ${[...this.keyring.keys.keys()].map((k) => `"${k}"`).join(', ')}): add that key to the file to read it`);
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptionError(`a payload encrypted with key "${keyId}" is truncated (${data.length} bytes)`);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(`a payload encrypted with key "${keyId}" failed authentication: it was altered, or "${keyId}" in ${this.keyring.source} is not the key it was written with`);
    }
    const inner = PayloadMessage.toObject(PayloadMessage.decode(plain), { defaults: true }) as { metadata: Record<string, Uint8Array>; data: Uint8Array };
    return { metadata: inner.metadata, data: inner.data };
  }
}
