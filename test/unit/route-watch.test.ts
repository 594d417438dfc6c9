// The route watch activity against a stand-in for HAProxy's admin socket: a unix socket server that
// answers `get weight` the way HAProxy 2.6 does ("<current> (initial <configured>)"). The real HAProxy,
// reloaded under load, is in test/integration/stack-faults.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { WatchRoutesInput, WatchRoutesResult } from '../../src/activities/contract.js';
import { watchRouteWeights } from '../../src/activities/traffic.js';
import type { ClusterRegistry } from '../../src/kube/clusters.js';
import type { RouteSpec } from '../../src/domain/request.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeferry-watch-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Weights by server name, with the configured ones HAProxy reports as "initial". */
function adminSocket(file: string, weights: Record<string, { current: number; initial: number }>) {
  const server = net.createServer((conn) => {
    conn.on('data', (chunk) => {
      const replies = chunk.toString('utf8').trim().split(';').map((c) => c.trim()).map((command) => {
        const server = /^get weight web\/(\w+)$/.exec(command)?.[1];
        const w = server ? weights[server] : undefined;
        return w ? `${w.current} (initial ${w.initial})\n` : 'No such server.\n';
      });
      conn.end(replies.join(''));
    });
  });
  return new Promise<net.Server>((resolve) => server.listen(file, () => resolve(server)));
}

const route: RouteSpec = { name: 'web', router: 'haproxy', backend: 'web', sourceServer: 'source', targetServer: 'target', workloads: ['shop/web'] } as RouteSpec;
const watch = (socket: string, input: Partial<WatchRoutesInput>) => {
  const env = new MockActivityEnvironment();
  const run = env.run(watchRouteWeights, { haproxy: { adminSocket: socket } }, {} as ClusterRegistry, {
    routes: [route], expected: { web: 30 }, maxWatchMs: 60_000, pollMs: 50, ...input,
  }) as Promise<WatchRoutesResult>;
  return { env, run };
};

describe('route watch', () => {
  it('returns as soon as HAProxy is back at its configured weights (a reload), saying so, while a route at its weight is no finding', async () => {
    const socket = path.join(dir, 'reload.sock');
    const weights = { source: { current: 70, initial: 100 }, target: { current: 30, initial: 0 } };
    const server = await adminSocket(socket, weights);
    try {
      const { run } = watch(socket, {});
      setTimeout(() => Object.assign(weights, { source: { current: 100, initial: 100 }, target: { current: 0, initial: 0 } }), 300);
      const result = await run;
      assert.ok(result.checks > 1, `found at the first check, before the reload: ${JSON.stringify(result)}`);
      assert.deepEqual(result.unreadable, []);
      assert.deepEqual(result.drifted.map(({ cause, ...d }) => ({ ...d, cause: /those of its configuration \(source 100, target 0\): a reload or restart/.test(cause ?? '') })),
        [{ route: 'web', expected: 30, found: 0, cause: true }]);
    } finally {
      server.close();
    }
  });

  it('a weight changed by hand is found without a reload cause', async () => {
    const socket = path.join(dir, 'hand.sock');
    const server = await adminSocket(socket, { source: { current: 50, initial: 100 }, target: { current: 50, initial: 0 } });
    try {
      const result = await watch(socket, {}).run;
      assert.deepEqual(result.drifted, [{ route: 'web', expected: 30, found: 50 }]);
    } finally {
      server.close();
    }
  });

  it('an admin socket gone for a moment is no finding: the watch ends after its period with nothing found', async () => {
    const result = await watch(path.join(dir, 'missing.sock'), { maxWatchMs: 600 }).run;
    assert.deepEqual({ drifted: result.drifted, unreadable: result.unreadable }, { drifted: [], unreadable: [] });
    assert.ok(result.checks > 3, `only ${result.checks} checks in 600 ms`);
  });

  it('stops when cancelled', async () => {
    const socket = path.join(dir, 'steady.sock');
    const server = await adminSocket(socket, { source: { current: 70, initial: 100 }, target: { current: 30, initial: 0 } });
    try {
      const { env, run } = watch(socket, {});
      setTimeout(() => env.cancel(), 300);
      await assert.rejects(run, (err: unknown) => err instanceof CancelledFailure);
    } finally {
      server.close();
    }
  });
});
