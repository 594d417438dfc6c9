import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { decodeArchive, encodeArchive } from '../../src/store/backup-format.js';

describe('archive parts', () => {
  it('round-trip objects as gzip-compressed JSON lines', () => {
    const objects = [{ kind: 'ConfigMap', metadata: { name: 'a' } }, { kind: 'ConfigMap', metadata: { name: 'b' } }];
    assert.deepEqual(decodeArchive(encodeArchive(objects.map((o) => JSON.stringify(o)))), objects);
  });

  it('refuse a part that unpacks beyond the bound (a decompression bomb) before holding it all', () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 'a'));
    assert.ok(bomb.length < 64 * 1024, `${bomb.length} bytes compressed`);
    assert.throws(() => decodeArchive(bomb, 1024 * 1024), /unpacks to more than 1 MiB/);
  });

  it('say which line is not JSON without quoting the contents (a part may hold Secrets)', () => {
    const part = gzipSync('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}\n{"kind":"Secret","data":{"password":"c2VjcmV0"\n');
    assert.throws(() => decodeArchive(part), (err: Error) => /line 2 is not JSON/.test(err.message) && !err.message.includes('c2VjcmV0') && !err.message.includes('password'));
    assert.throws(() => decodeArchive(gzipSync('[1,2]\n')), /line 1 is not a JSON object/);
    assert.throws(() => decodeArchive(Buffer.from('not gzip')), /not gzip-compressed JSON lines/);
  });
});
