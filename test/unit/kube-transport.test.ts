import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRest } from '../../src/kube/rest.js';

const kubeconfig = (cluster: { server: string; skipTLSVerify?: boolean }) => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', ...cluster }], users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return kc;
};

describe('the transport to an API server', () => {
  it('refuses a kubeconfig that skips TLS verification, or names a plain-http server, unless allowed', () => {
    assert.throws(() => new KubeRest(kubeconfig({ server: 'https://10.0.0.1:6443', skipTLSVerify: true })), /skips TLS verification \(insecure-skip-tls-verify\)/);
    assert.throws(() => new KubeRest(kubeconfig({ server: 'http://10.0.0.1:8080' })), /served over plain http \(http:\/\/10\.0\.0\.1:8080\)/);
    assert.doesNotThrow(() => new KubeRest(kubeconfig({ server: 'https://10.0.0.1:6443', skipTLSVerify: true }), { allowInsecure: true }).close());
    assert.doesNotThrow(() => new KubeRest(kubeconfig({ server: 'https://10.0.0.1:6443' })).close());
  });
});
