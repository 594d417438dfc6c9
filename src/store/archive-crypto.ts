// The backup keys and what they protect: Secret archives encrypted with AES-256-GCM, and the manifest and
// the per-type indexes authenticated with an HMAC, both with keys only the worker holds.
//
// Encrypted archive: "KFE2" | key id length (1 byte) | key id | 12-byte IV | ciphertext | 16-byte tag,
// with the archive's place (backup id, type, part) as additional authenticated data, so an archive
// moved to another backup or part no longer decrypts. "KFE1" is the same without that binding (format 2).
//
// Authentication: HMAC-SHA256 over the document's RFC 8785 canonical JSON (without its `authentication`
// field), keyed by HKDF-SHA256 of the backup key, so the MAC key is never the encryption key itself.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import { loadKeyring, type Keyring } from '../config/key-file.js';

export interface BackupKeyring extends Keyring {
  /** Backups without authentication (format 2, or taken by a worker without keys) are read all the same. */
  acceptUnauthenticated?: boolean;
}

/** What `backupEncryption` in the worker config says. */
export interface BackupKeySettings {
  keyFile: string;
  keyId?: string | undefined;
  acceptUnauthenticatedBackups?: boolean | undefined;
}

/** Reads the backup keys (a key file as payload keys have: the last key encrypts and signs unless keyId names another). */
export function loadBackupKeyring(settings: BackupKeySettings, warn?: (message: string) => void): BackupKeyring {
  const ring = loadKeyring(settings.keyFile, 'backup key file', {
    keyId: settings.keyId,
    keyIdSetting: 'backupEncryption.keyId',
    hint: "create it with 'openssl rand -hex 32 > FILE; chmod 600 FILE', or remove backupEncryption from the worker config",
    ...(warn ? { warn } : {}),
  });
  return settings.acceptUnauthenticatedBackups ? { ...ring, acceptUnauthenticated: true } : ring;
}

/** A keyring of one key, for callers that hold the key itself (tests, tools). */
export function keyringOf(id: string, key: Buffer): BackupKeyring {
  return { keys: new Map([[id, key]]), current: id, source: `key "${id}"` };
}

/** Where an archive belongs; bound into its ciphertext. */
export interface ArchivePlace {
  backupId: string;
  type: string;
  part: number;
}

const MAGIC_BOUND = Buffer.from('KFE2');
const MAGIC_UNBOUND = Buffer.from('KFE1');
const placeData = ({ backupId, type, part }: ArchivePlace) => Buffer.from(`kubeferry archive\0${backupId}\0${type}\0${part}`);

export function encrypt(plain: Buffer, ring: BackupKeyring, place: ArchivePlace): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.keys.get(ring.current)!, iv, { authTagLength: 16 });
  cipher.setAAD(placeData(place));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const idBytes = Buffer.from(ring.current, 'utf8');
  return Buffer.concat([MAGIC_BOUND, Buffer.from([idBytes.length]), idBytes, iv, body, cipher.getAuthTag()]);
}

/** The id of the key an encrypted archive names, or undefined when it is not one. */
export function encryptedWith(data: Buffer): string | undefined {
  const magic = data.subarray(0, 4);
  if (!magic.equals(MAGIC_BOUND) && !magic.equals(MAGIC_UNBOUND)) return undefined;
  return data.subarray(5, 5 + (data[4] ?? 0)).toString('utf8');
}

/**
 * Decrypts an archive. `place` is where the manifest puts it: a bound archive only decrypts there; an
 * unbound one (format 2) only when `place` is undefined, which a reader passes for format-2 backups alone.
 * Errors say what is wrong in an operator's words and never quote the data.
 */
export function decrypt(data: Buffer, ring: BackupKeyring, place: ArchivePlace | undefined): Buffer {
  const magic = data.subarray(0, 4);
  const bound = magic.equals(MAGIC_BOUND);
  if (!bound && !magic.equals(MAGIC_UNBOUND)) throw new Error('it is not an encrypted kubeferry archive');
  if (bound !== Boolean(place)) {
    throw new Error(bound ? 'it is bound to a place although its backup is of format 2' : 'it is not bound to its backup, type and part (an archive of format 2 in a newer backup)');
  }
  const idLength = data[4] ?? 0;
  if (data.length < 5 + idLength + 12 + 16) throw new Error(`it is truncated (${data.length} bytes)`);
  const id = data.subarray(5, 5 + idLength).toString('utf8');
  const key = ring.keys.get(id);
  if (!key) throw new Error(`it was encrypted with key "${id}", which is not in ${ring.source} (it holds ${[...ring.keys.keys()].map((k) => `"${k}"`).join(', ')})`);
  const iv = data.subarray(5 + idLength, 17 + idLength);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  if (place) decipher.setAAD(placeData(place));
  decipher.setAuthTag(data.subarray(data.length - 16));
  try {
    return Buffer.concat([decipher.update(data.subarray(17 + idLength, data.length - 16)), decipher.final()]);
  } catch {
    throw new Error(place
      ? `its authentication tag does not match: it was changed after it was written, or it belongs to another backup, type or part than ${place.backupId}/${place.type}/part ${place.part}`
      : 'its authentication tag does not match (it was changed after it was written)');
  }
}

/** How a manifest or an index proves that a worker holding the backup key wrote it. */
export interface Authentication {
  algorithm: 'HMAC-SHA256';
  keyId: string;
  /** Hex. */
  mac: string;
}

// The package is CommonJS (module.exports is the function) but types itself as an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

const macKey = (key: Buffer) => Buffer.from(hkdfSync('sha256', key, 'kubeferry', 'backup authentication v1', 32));

function macOf(doc: object, key: Buffer): Buffer {
  const { authentication: _, ...rest } = doc as { authentication?: unknown };
  return createHmac('sha256', macKey(key)).update(canonicalize(rest) ?? '').digest();
}

/** The document with an `authentication` by the keyring's current key. */
export function authenticate<T extends object>(doc: T, ring: BackupKeyring): T & { authentication: Authentication } {
  return { ...doc, authentication: { algorithm: 'HMAC-SHA256', keyId: ring.current, mac: macOf(doc, ring.keys.get(ring.current)!).toString('hex') } };
}

/** Why the document's authentication does not hold, or undefined when it does. */
export function authenticationProblem(doc: object, ring: BackupKeyring): string | undefined {
  const auth = (doc as { authentication?: Partial<Authentication> }).authentication;
  if (!auth || typeof auth !== 'object') return 'it carries no authentication';
  if (auth.algorithm !== 'HMAC-SHA256' || typeof auth.keyId !== 'string' || typeof auth.mac !== 'string' || !/^[0-9a-f]{64}$/.test(auth.mac)) {
    return 'its authentication is malformed';
  }
  const key = ring.keys.get(auth.keyId);
  if (!key) return `it was authenticated with backup key "${auth.keyId}", which is not in ${ring.source}`;
  return timingSafeEqual(macOf(doc, key), Buffer.from(auth.mac, 'hex')) ? undefined : 'its authentication code does not match: it was changed after kubeferry wrote it';
}
