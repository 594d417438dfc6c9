// The Gateway API router against a real API server (the Gateway API CRDs the local stack installs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubeRest } from '../../src/kube/rest.js';
import { GatewayApiRouter } from '../../src/routers/gateway-api.js';
import { stackEnv } from '../support/stack.js';

const env = stackEnv();
const ns = `gw-${randomBytes(3).toString('hex')}`;
let rest: KubeRest;
const path = `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`;

before(async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(env.SOURCE_KUBECONFIG!);
  rest = new KubeRest(kc);
  await rest.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await rest.request('POST', path, {
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web' },
      spec: {
        parentRefs: [{ name: 'edge' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/shop' } }], backendRefs: [{ name: 'web-source', port: 80, weight: 100 }, { name: 'web-target', port: 80, weight: 0 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'web-source', port: 80, weight: 1 }, { name: 'web-target', port: 80, weight: 0 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/static' } }], backendRefs: [{ name: 'cdn', port: 80 }] },
        ],
      },
    },
  });
});

after(async () => {
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('Gateway API router on a real API server', () => {
  const router = () => new GatewayApiRouter(rest, { namespace: ns, httpRoute: 'web', sourceBackend: { name: 'web-source' }, targetBackend: { name: 'web-target' } });

  it('sets the weights of every rule that splits between the two backends, and reads them back', async () => {
    assert.equal(await router().getWeight(), 0);
    assert.equal(await router().setWeight(25), 25);
    const route = await rest.get<{ spec: { rules: { backendRefs: { name: string; weight?: number }[] }[] } }>(`${path}/web`);
    assert.deepEqual(route.spec.rules.map((r) => r.backendRefs.map((b) => `${b.name}=${b.weight ?? '-'}`)), [
      ['web-source=75', 'web-target=25'], ['web-source=75', 'web-target=25'], ['cdn=1'],
    ]);
    assert.equal(await router().setWeight(100), 100);
    assert.equal(await router().setWeight(0), 0);
  });

  it('says what is wrong when the route or the backends are not there', async () => {
    await assert.rejects(new GatewayApiRouter(rest, { namespace: ns, httpRoute: 'nope', sourceBackend: { name: 'a' }, targetBackend: { name: 'b' } }).getWeight(), /HTTPRoute gw-.*\/nope does not exist/);
    await assert.rejects(new GatewayApiRouter(rest, { namespace: ns, httpRoute: 'web', sourceBackend: { name: 'web-source' }, targetBackend: { name: 'other' } }).setWeight(10),
      /has no rule with both backendRefs web-source \(source\) and other \(target\)/);
    await assert.rejects(router().setWeight(101), /integer 0\.\.100/);
  });
});
