import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decrypt, encrypt, loadArchiveKey } from '../../src/store/archive-crypto.js';

function keyFile(hex: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kf-key-')), 'key');
  fs.writeFileSync(file, hex);
  return file;
}

describe('archive encryption', () => {
  const key = loadArchiveKey(keyFile('11'.repeat(32)));
  const other = loadArchiveKey(keyFile('22'.repeat(32)));
  const plain = Buffer.from('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}\n');

  it('round-trips, and the stored bytes do not contain the plain text', () => {
    const sealed = encrypt(plain, key);
    assert.equal(sealed.includes(Buffer.from('aHVudGVyMg==')), false);
    assert.deepEqual(decrypt(sealed, key), plain);
  });
  it('refuses a tampered archive', () => {
    const sealed = encrypt(plain, key);
    sealed[sealed.length - 20]! ^= 1;
    assert.throws(() => decrypt(sealed, key), /unable to authenticate|auth/i);
  });
  it('names the key an archive needs when the worker holds another', () => {
    assert.throws(() => decrypt(encrypt(plain, key), other), new RegExp(`encrypted with key ${key.id}`));
  });
  it('refuses a key file that is not 32 bytes of hex', () => {
    assert.throws(() => loadArchiveKey(keyFile('not-a-key')), /64 hex characters/);
  });
});
