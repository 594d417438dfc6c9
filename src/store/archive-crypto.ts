// Client-side encryption of archives that hold Secrets: AES-256-GCM with a key only the worker holds.
// Stored form: "KFE1" | key id length (1 byte) | key id | 12-byte IV | ciphertext | 16-byte auth tag.
// The key id lets a worker with several keys (rotation) pick the right one; the tag detects tampering.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';

const MAGIC = Buffer.from('KFE1');

export interface ArchiveKey {
  id: string;
  key: Buffer;
}

/** Reads a key file: 64 hex characters (32 bytes). The key id is derived from the key, never the key itself. */
export function loadArchiveKey(file: string): ArchiveKey {
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) {
    throw new Error(`backup encryption key ${file} must hold 64 hex characters (32 bytes), e.g. from 'openssl rand -hex 32'`);
  }
  const key = Buffer.from(text, 'hex');
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

export function encrypt(plain: Buffer, { id, key }: ArchiveKey): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const idBytes = Buffer.from(id, 'utf8');
  return Buffer.concat([MAGIC, Buffer.from([idBytes.length]), idBytes, iv, body, cipher.getAuthTag()]);
}

export function decrypt(data: Buffer, key: ArchiveKey): Buffer {
  if (!data.subarray(0, 4).equals(MAGIC)) throw new Error('not an encrypted kubeferry archive');
  const idLength = data[4]!;
  const id = data.subarray(5, 5 + idLength).toString('utf8');
  if (id !== key.id) throw new Error(`archive was encrypted with key ${id}, but this worker holds key ${key.id}`);
  const iv = data.subarray(5 + idLength, 17 + idLength);
  const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(17 + idLength, data.length - 16)), decipher.final()]);
}
