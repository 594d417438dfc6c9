import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictSink } from '../../src/activities/plan.js';
import type { PlanInput } from '../../src/activities/contract.js';
import type { RawObject, TypeEntry } from '../../src/store/backup-format.js';

const type = { name: 'configmaps', group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, kindKey: 'ConfigMap', count: 0 } as TypeEntry;
const input = { namespaceMapping: {} } as unknown as PlanInput;
const cm = (name: string): RawObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' } });

describe("plan's lookups in the target", () => {
  it('counts every conflict, and a failed lookup fails the plan instead of going unhandled or uncounted', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const found = { count: 0, examples: [] as string[] };
      const sink = new ConflictSink(async (_t, o) => {
        await new Promise((r) => setTimeout(r, o.metadata!.name === 'bad' ? 1 : 5));
        if (o.metadata!.name === 'bad') throw new Error('403 on get configmaps');
        return true;
      }, input, found);
      for (const name of ['a', 'b', 'bad', 'c']) await sink.add(type, cm(name));
      // The failing lookup settles while nothing awaits it (between adds), as between pages of the source.
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(sink.finish(), /403 on get configmaps/);
      assert.equal(found.count, 3);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
