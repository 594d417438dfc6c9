// forEachConcurrently: bounded, and a failure stops the call as a whole, with nothing left running.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachConcurrently } from '../../src/concurrency.js';

describe('forEachConcurrently', () => {
  it('runs every item, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachConcurrently([...Array(20).keys()], async (i) => {
      running += 1;
      most = Math.max(most, running);
      await sleep(1);
      seen.push(i);
      running -= 1;
    }, 3);
    assert.equal(most, 3);
    assert.deepEqual(seen.sort((a, b) => a - b), [...Array(20).keys()]);
  });

  it('after a failure starts no other item, and throws the first error only once the items in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const call = forEachConcurrently([...Array(20).keys()], async (i) => {
      started.push(i);
      if (i === 1) throw new Error('item 1 failed');
      await sleep(20);
      settled.push(i);
    }, 3);
    await assert.rejects(call, /item 1 failed/);
    // Items 0 and 2 were in flight with 1; both settled before the error came out, and nothing after them started.
    assert.deepEqual(started.sort((a, b) => a - b), [0, 1, 2]);
    assert.deepEqual(settled.sort((a, b) => a - b), [0, 2]);
    await sleep(50);
    assert.deepEqual(started.sort((a, b) => a - b), [0, 1, 2], 'an item started after the call had failed');
  });
});
