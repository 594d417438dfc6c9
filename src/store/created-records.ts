// What a restore created in the target, recorded beside the backup: cleanup deletes what these records
// name (by uid), not whatever carries the migration's label, since a label can be copied onto an object
// kubeferry never made. A chunk's record is written before the chunk runs, with the names it may create,
// so that objects of a chunk cut short (the worker died, the rollback came) are still known as candidates;
// it is written again once the chunk is done, with the uid of each object created.
import { authenticate, type BackupKeyring } from './archive-crypto.js';
import { createdKey, createdRoot } from './backup-format.js';
import { checkAuthentication, type BackupLocation } from './backup-store.js';
import type { ObjectStore } from './object-store.js';

export interface CreatedObject {
  /** The type's name as kubectl spells it (`configmaps`, `deployments.apps`). */
  type: string;
  namespace?: string;
  name: string;
  /** Set once the object was created (or found created by this run); absent while the chunk runs. */
  uid?: string;
}

export interface CreatedRecord {
  migrationId: string;
  runId: string;
  wave: number;
  /** false while the chunk runs: its objects have no uids yet. */
  done: boolean;
  objects: CreatedObject[];
}

export interface CreatedRef {
  storage: BackupLocation;
  backupId: string;
  migrationId: string;
  runId: string;
  wave: number;
  archive: number;
  offset: number;
}

export async function writeCreated(store: ObjectStore, keys: BackupKeyring | undefined, ref: CreatedRef, done: boolean, objects: CreatedObject[]): Promise<void> {
  const record: CreatedRecord = { migrationId: ref.migrationId, runId: ref.runId, wave: ref.wave, done, objects };
  const key = createdKey(ref.storage.prefix, ref.backupId, ref.migrationId, ref.runId, ref.wave, ref.archive, ref.offset);
  await store.put(ref.storage.bucket, key, Buffer.from(JSON.stringify(keys ? authenticate(record, keys) : record)), 'application/json');
}

/** What the records of a migration (of one run, or of all runs) say it created; `unusable` names records that were changed or cannot be read. */
export interface CreatedLedger {
  /** The waves with records (a wave restored before records were kept has none, and its objects are known by their label only). */
  waves: Set<number>;
  /** `type|namespace|name` -> the uid created, or null while its chunk had not finished. */
  objects: Map<string, string | null>;
  unusable: string[];
}

export const ledgerKey = (type: string, namespace: string | undefined, name: string) => `${type}|${namespace ?? ''}|${name}`;

export async function readCreated(store: ObjectStore, keys: BackupKeyring | undefined, storage: BackupLocation, backupId: string, migrationId: string, runId?: string): Promise<CreatedLedger> {
  const root = createdRoot(storage.prefix, backupId, migrationId);
  const ledger: CreatedLedger = { waves: new Set(), objects: new Map(), unusable: [] };
  for (const key of await store.list(storage.bucket, runId ? `${root}${runId}/` : root)) {
    const wave = /\/wave-(\d+)\/part-\d+-\d+\.json$/.exec(key);
    if (wave) ledger.waves.add(Number(wave[1]));
    const problem = (why: string) => ledger.unusable.push(`s3://${storage.bucket}/${key} ${why}`);
    let record: CreatedRecord;
    try {
      record = JSON.parse((await store.get(storage.bucket, key, { maxBytes: 16 * 1024 * 1024 }))?.toString('utf8') ?? 'null') as CreatedRecord;
    } catch {
      problem('is not JSON');
      continue;
    }
    if (!record || !Array.isArray(record.objects) || record.migrationId !== migrationId || (runId && record.runId !== runId)) {
      problem('is not a record of this migration');
      continue;
    }
    // Trusted as the manifest is (with backup keys it must authenticate, unless unauthenticated backups are accepted).
    try {
      checkAuthentication(record, `s3://${storage.bucket}/${key}`, keys, 'The objects it names are kept.');
    } catch (err) {
      ledger.unusable.push((err as Error).message);
      continue;
    }
    for (const o of record.objects) {
      if (typeof o?.type !== 'string' || typeof o.name !== 'string') continue;
      const id = ledgerKey(o.type, o.namespace, o.name);
      // A finished record's uid wins over another's "not yet": a resumed chunk writes its record again.
      if (typeof o.uid === 'string') ledger.objects.set(id, o.uid);
      else if (!ledger.objects.has(id)) ledger.objects.set(id, null);
    }
  }
  return ledger;
}
