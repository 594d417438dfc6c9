// Copies of target objects that an "update" restore overwrote: written once, before the first overwrite
// (a resumed chunk that applies again must not save kubeferry's own version as the original), read by the
// rollback's cleanup to put each back. Secrets are encrypted like their archives, bound to their key.
import { decrypt, encrypt, type BackupKeyring } from './archive-crypto.js';
import { ENCRYPTED_TYPES, overwrittenKey, type RawObject } from './backup-format.js';
import type { BackupLocation } from './backup-store.js';
import type { ObjectStore } from './object-store.js';

export interface OverwrittenRef {
  storage: BackupLocation;
  backupId: string;
  migrationId: string;
  type: string;
  namespace: string | undefined;
  name: string;
}

const keyOf = (r: OverwrittenRef) => overwrittenKey(r.storage.prefix, r.backupId, r.migrationId, r.type, r.namespace, r.name);
// Bound like an archive: the copy of one object never decrypts as another's.
const placeOf = (r: OverwrittenRef) => ({ backupId: r.backupId, type: `overwritten/${r.migrationId}/${r.type}/${r.namespace ?? ''}/${r.name}`, part: 0 });

/** Saves the object as it was, unless a copy exists already; Secrets need the backup keys. */
export async function saveOverwritten(store: ObjectStore, keys: BackupKeyring | undefined, ref: OverwrittenRef, original: RawObject): Promise<void> {
  const plain = Buffer.from(JSON.stringify(original));
  const secret = ENCRYPTED_TYPES.has(ref.type);
  if (secret && !keys) throw new Error(`${ref.type} ${ref.namespace ?? ''}/${ref.name} would be overwritten, but this worker has no backup key to keep its copy encrypted`);
  await store.putIfAbsent(ref.storage.bucket, keyOf(ref), secret ? encrypt(plain, keys!, placeOf(ref)) : plain, 'application/octet-stream');
}

/** The copy kept of an overwritten object, or undefined when there is none. */
export async function readOverwritten(store: ObjectStore, keys: BackupKeyring | undefined, ref: OverwrittenRef): Promise<RawObject | undefined> {
  const data = await store.get(ref.storage.bucket, keyOf(ref));
  if (!data) return undefined;
  const plain = ENCRYPTED_TYPES.has(ref.type) ? decrypt(data, keys ?? { keys: new Map(), current: '', source: 'no backup key' }, placeOf(ref)) : data;
  return JSON.parse(plain.toString('utf8')) as RawObject;
}
