import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { authenticate, authenticationProblem, decrypt, encrypt, loadBackupKeyring } from '../../src/store/archive-crypto.js';
import { ConfigError } from '../../src/config/worker-config.js';

function keyFile(text: string, mode = 0o600): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kf-key-')), 'key');
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}
const A = '11'.repeat(32);
const B = '22'.repeat(32);
const place = { backupId: 'nightly', type: 'secrets', part: 1 };

describe('archive encryption', () => {
  const key = loadBackupKeyring({ keyFile: keyFile(A) });
  const other = loadBackupKeyring({ keyFile: keyFile(B) });
  const plain = Buffer.from('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}\n');

  it('round-trips, and the stored bytes do not contain the plain text', () => {
    const sealed = encrypt(plain, key, place);
    assert.equal(sealed.includes(Buffer.from('aHVudGVyMg==')), false);
    assert.deepEqual(decrypt(sealed, key, place), plain);
  });
  it('refuses a tampered archive', () => {
    const sealed = encrypt(plain, key, place);
    sealed[sealed.length - 20]! ^= 1;
    assert.throws(() => decrypt(sealed, key, place), /authentication tag does not match/);
  });
  it('refuses an archive moved to another backup, type or part: the place is bound into the ciphertext', () => {
    const sealed = encrypt(plain, key, place);
    for (const elsewhere of [{ ...place, backupId: 'older' }, { ...place, type: 'configmaps' }, { ...place, part: 2 }]) {
      assert.throws(() => decrypt(sealed, key, elsewhere), /belongs to another backup, type or part/);
    }
  });
  it('refuses an unbound (format 2) archive where a bound one belongs, and a truncated one', () => {
    const sealed = encrypt(plain, key, place);
    const unbound = Buffer.concat([Buffer.from('KFE1'), sealed.subarray(4)]);
    assert.throws(() => decrypt(unbound, key, place), /not bound to its backup/);
    assert.throws(() => decrypt(sealed.subarray(0, 30), key, place), /truncated/);
  });
  it('names the key an archive needs when the worker does not hold it', () => {
    assert.throws(() => decrypt(encrypt(plain, key, place), other, place), new RegExp(`encrypted with key "${key.current}", which is not in`));
  });
  it('decrypts archives of every key in the file and encrypts with the last: a rotated key keeps old backups readable', () => {
    const old = encrypt(plain, key, place);
    const rotated = loadBackupKeyring({ keyFile: keyFile(`${A}\nnew=${B}\n`) });
    assert.equal(rotated.current, 'new');
    assert.deepEqual(decrypt(old, rotated, place), plain);
    assert.throws(() => decrypt(encrypt(plain, rotated, place), key, place), /key "new", which is not in/);
    assert.equal(loadBackupKeyring({ keyFile: keyFile(`${A}\nnew=${B}\n`), keyId: key.current }).current, key.current);
  });
  it('refuses a key file that is not keys of 32 bytes of hex, or that others may change, and warns when others may read it', () => {
    assert.throws(() => loadBackupKeyring({ keyFile: keyFile('not-a-key') }), /backup key file .* line 1: expected/);
    assert.throws(() => loadBackupKeyring({ keyFile: keyFile(A, 0o666) }), (e: Error) => e instanceof ConfigError && /may be changed by any user .*chmod 600/.test(e.message));
    assert.throws(() => loadBackupKeyring({ keyFile: keyFile(A, 0o620) }), /may be changed by its group/);
    const warnings: string[] = [];
    loadBackupKeyring({ keyFile: keyFile(A, 0o644) }, (m) => warnings.push(m));
    assert.match(warnings.join('\n'), /may be read by any user \(mode 644\)/);
    assert.throws(() => loadBackupKeyring({ keyFile: '/nonexistent/backup-key' }), /backup key file \/nonexistent\/backup-key does not exist/);
  });
});

describe('backup authentication', () => {
  const ring = loadBackupKeyring({ keyFile: keyFile(`${A}\nnew=${B}\n`) });
  const manifest = { backupId: 'nightly', namespaces: ['shop'], archives: [{ key: 'a', sha256: 'f'.repeat(64) }] };

  it('verifies what it authenticated, whatever the order of its keys, and after a JSON round trip', () => {
    const signed = authenticate(manifest, ring);
    assert.equal(signed.authentication.keyId, 'new');
    assert.equal(authenticationProblem(JSON.parse(JSON.stringify(signed)) as object, ring), undefined);
    const reordered = { archives: signed.archives, authentication: signed.authentication, namespaces: signed.namespaces, backupId: signed.backupId };
    assert.equal(authenticationProblem(reordered, ring), undefined);
  });
  it('refuses any change, a missing or malformed authentication, and a key it does not hold', () => {
    const signed = authenticate(manifest, ring);
    assert.match(authenticationProblem({ ...signed, namespaces: ['shop', 'kube-system'] }, ring)!, /does not match: it was changed/);
    assert.match(authenticationProblem({ ...signed, archives: [{ key: 'b', sha256: 'f'.repeat(64) }] }, ring)!, /does not match/);
    assert.match(authenticationProblem(manifest, ring)!, /carries no authentication/);
    assert.match(authenticationProblem({ ...signed, authentication: { ...signed.authentication, mac: 'zz' } }, ring)!, /malformed/);
    const other = loadBackupKeyring({ keyFile: keyFile(A) });
    assert.match(authenticationProblem(signed, other)!, /backup key "new", which is not in/);
  });
});
