// Copies of a real backup under another prefix and id, for tests that damage them: flipped bytes, a
// checksum that no longer matches, another format version, an object too large for an API server. The
// archives are read and written with the same functions as the backup (src/store/backup-format.ts).
// The fixture holds the backup keys, as a worker does: a copy's Secret archives are encrypted again for
// their new place and its manifest is authenticated again, unless a case plays someone without the keys.
import {
  backupRoot,
  decodeArchive,
  encodeArchive,
  manifestKey,
  type ArchiveEntry,
  type BackupManifest,
  type RawObject,
  type StoredPlan,
} from '../../src/store/backup-format.js';
import { sha256, type ObjectStore } from '../../src/store/object-store.js';
import { authenticate, decrypt, encrypt, type BackupKeyring } from '../../src/store/archive-crypto.js';

export interface BackupRef {
  prefix: string;
  backupId: string;
}

export class BackupFixture {
  private constructor(
    readonly store: ObjectStore,
    readonly bucket: string,
    readonly ref: BackupRef,
    /** Changed in memory; `saveManifest` writes it. */
    readonly manifest: BackupManifest,
    readonly backupKeys: BackupKeyring,
  ) {}

  /**
   * Copies every key of `from` to `to` (archives, indexes, plan, then the manifest, rewritten to its new
   * keys and authenticated with `keys`); encrypted archives are encrypted again for their new backup id.
   */
  static async copy(store: ObjectStore, bucket: string, from: BackupRef, to: BackupRef, backupKeys: BackupKeyring): Promise<BackupFixture> {
    const fromRoot = `${backupRoot(from.prefix, from.backupId)}/`;
    const toRoot = `${backupRoot(to.prefix, to.backupId)}/`;
    const moved = (key: string) => {
      if (!key.startsWith(fromRoot)) throw new Error(`${key} is not under ${fromRoot}`);
      return toRoot + key.slice(fromRoot.length);
    };
    const keys = await store.list(bucket, fromRoot);
    const manifestAt = manifestKey(from.prefix, from.backupId);
    if (!keys.includes(manifestAt)) throw new Error(`backup ${fromRoot} has no manifest`);
    await Promise.all(keys.filter((k) => k !== manifestAt).map(async (k) => store.put(bucket, moved(k), (await store.get(bucket, k))!)));
    const manifest = JSON.parse((await store.get(bucket, manifestAt))!.toString('utf8')) as BackupManifest;
    manifest.backupId = to.backupId;
    manifest.plan.key = moved(manifest.plan.key);
    for (const a of manifest.archives) a.key = moved(a.key);
    const fixture = new BackupFixture(store, bucket, to, manifest, backupKeys);
    for (const a of manifest.archives.filter((entry) => entry.encryption)) {
      const place = fixture.placeOf(a);
      const plain = decrypt((await store.get(bucket, a.key))!, backupKeys, { ...place, backupId: from.backupId });
      await fixture.writeArchive(a, encrypt(plain, backupKeys, place), { record: true });
    }
    await fixture.saveManifest();
    return fixture;
  }

  get manifestKey(): string {
    return manifestKey(this.ref.prefix, this.ref.backupId);
  }

  /** The first archive of a type ("configmaps", "secrets"). */
  archive(type: string): ArchiveEntry {
    const found = this.manifest.archives.find((a) => a.type === type);
    if (!found) throw new Error(`backup ${this.ref.backupId} has no archive of ${type}: ${this.manifest.archives.map((a) => a.type).join(', ')}`);
    return found;
  }

  /** Where an archive of the manifest belongs (what its encryption is bound to). */
  placeOf(entry: ArchiveEntry): { backupId: string; type: string; part: number } {
    return { backupId: this.manifest.backupId, type: entry.type, part: this.manifest.archives.filter((a) => a.type === entry.type).indexOf(entry) + 1 };
  }

  async read(key: string): Promise<Buffer> {
    const data = await this.store.get(this.bucket, key);
    if (!data) throw new Error(`s3://${this.bucket}/${key} does not exist`);
    return data;
  }

  /** The objects of an unencrypted archive. */
  async objects(entry: ArchiveEntry): Promise<RawObject[]> {
    return decodeArchive(await this.read(entry.key));
  }

  /** Stores `data` as the archive; with `record`, the manifest's size and sha256 follow (saveManifest writes them). */
  async writeArchive(entry: ArchiveEntry, data: Buffer, { record }: { record: boolean }): Promise<void> {
    await this.store.put(this.bucket, entry.key, data);
    if (record) Object.assign(entry, { size: data.length, sha256: sha256(data) });
  }

  /** Re-encodes an archive from objects, recording its checksum, size and count in the manifest. */
  async writeObjects(entry: ArchiveEntry, objects: readonly RawObject[]): Promise<void> {
    await this.writeArchive(entry, encodeArchive(objects.map((o) => JSON.stringify(o))), { record: true });
    const type = this.manifest.types.find((t) => t.name === entry.type)!;
    type.count += objects.length - entry.count;
    entry.count = objects.length;
  }

  async plan(): Promise<StoredPlan> {
    return JSON.parse((await this.read(this.manifest.plan.key)).toString('utf8')) as StoredPlan;
  }

  /** Stores a plan and records its checksum in the manifest (saveManifest writes it). */
  async writePlan(plan: StoredPlan, spacing?: number): Promise<void> {
    const data = Buffer.from(JSON.stringify(plan, null, spacing));
    await this.store.put(this.bucket, this.manifest.plan.key, data);
    this.manifest.plan.sha256 = sha256(data);
  }

  /**
   * Writes the manifest as it is in memory (or `raw`: text as it is, an object in its place), authenticated
   * with the fixture's keys unless `authenticate` is false: then it keeps whatever authentication it had,
   * as someone without the keys who rewrote it would leave it.
   */
  async saveManifest(raw?: string | object, { authenticate: sign = true }: { authenticate?: boolean } = {}): Promise<void> {
    const doc = typeof raw === 'string' ? raw : raw ?? this.manifest;
    const text = typeof doc === 'string' ? doc : JSON.stringify(sign ? authenticate(doc, this.backupKeys) : doc, null, 2);
    await this.store.put(this.bucket, this.manifestKey, Buffer.from(text), 'application/json');
  }

  /** Every key of the copy. */
  async keys(): Promise<string[]> {
    return this.store.list(this.bucket, `${backupRoot(this.ref.prefix, this.ref.backupId)}/`);
  }
}

/** Flips one byte in the middle of `data`: a copy that no longer matches its checksum. */
export function flipByte(data: Buffer, at = Math.floor(data.length / 2)): Buffer {
  const copy = Buffer.from(data);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}
