import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HaproxyRouter } from '../../src/routers/haproxy.js';
import { RouterError, RouterUnavailable } from '../../src/routers/router.js';

describe('HAProxy router', () => {
  it('refuses names that could inject a command on the admin socket', () => {
    assert.throws(() => new HaproxyRouter({ socket: '/x' }, { backend: 'web\nshutdown sessions', sourceServer: 's', targetServer: 't' }), /invalid HAProxy name/);
  });

  it('an admin socket that refuses is a retryable RouterUnavailable, not a misconfigured route', async () => {
    const router = new HaproxyRouter({ socket: '/nonexistent/kubeferry-admin.sock' }, { backend: 'web', sourceServer: 's', targetServer: 't' });
    await assert.rejects(router.setWeight(50), (err: Error) => err instanceof RouterUnavailable && !(err instanceof RouterError) && /ENOENT/.test(err.message));
  });
});
