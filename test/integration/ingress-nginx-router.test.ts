// The ingress-nginx canary router against a real API server: the canary-weight annotation of a canary
// Ingress, read back from the object.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KubeRest } from '../../src/kube/rest.js';
import { CANARY_WEIGHT, IngressNginxRouter } from '../../src/routers/ingress-nginx.js';
import { kubeconfigFrom, stackEnv } from '../support/stack.js';

const env = stackEnv();
const ns = `ing-${randomBytes(3).toString('hex')}`;
const path = `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`;
let rest: KubeRest;

const ingress = (name: string, service: string, annotations: Record<string, string> = {}) => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, annotations },
  spec: { ingressClassName: 'nginx', rules: [{ host: 'shop.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }] },
});

before(async () => {
  rest = new KubeRest(kubeconfigFrom(env.TARGET_KUBECONFIG!));
  await rest.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await rest.request('POST', path, { body: ingress('web', 'web-source') });
  await rest.request('POST', path, { body: ingress('web-canary', 'web-target', { 'nginx.ingress.kubernetes.io/canary': 'true', [CANARY_WEIGHT]: '0' }) });
  await rest.request('POST', path, {
    body: ingress('web-canary-1000', 'web-target', { 'nginx.ingress.kubernetes.io/canary': 'true', [CANARY_WEIGHT]: '0', 'nginx.ingress.kubernetes.io/canary-weight-total': '1000' }),
  });
});

after(async () => {
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('ingress-nginx canary router on a real API server', () => {
  const annotations = async (name: string) => (await rest.get<{ metadata: { annotations: Record<string, string> } }>(`${path}/${name}`)).metadata.annotations;

  it('sets the canary weight and reads it back from the Ingress', async () => {
    const router = new IngressNginxRouter(rest, { namespace: ns, canaryIngress: 'web-canary' });
    assert.equal(await router.getWeight(), 0);
    assert.equal(await router.setWeight(30), 30);
    assert.equal((await annotations('web-canary'))[CANARY_WEIGHT], '30');
    assert.equal(await router.setWeight(100), 100);
    assert.equal(await router.setWeight(0), 0);
    // The primary Ingress is never touched.
    assert.equal((await annotations('web'))?.[CANARY_WEIGHT], undefined);
  });

  it('honours canary-weight-total', async () => {
    const router = new IngressNginxRouter(rest, { namespace: ns, canaryIngress: 'web-canary-1000' });
    assert.equal(await router.setWeight(25), 25);
    assert.equal((await annotations('web-canary-1000'))[CANARY_WEIGHT], '250');
  });

  it('refuses to weight an Ingress that is not a canary, or one that does not exist', async () => {
    await assert.rejects(new IngressNginxRouter(rest, { namespace: ns, canaryIngress: 'web' }).setWeight(10), /Ingress ing-.*\/web is not a canary/);
    await assert.rejects(new IngressNginxRouter(rest, { namespace: ns, canaryIngress: 'nope' }).getWeight(), /does not exist; create the canary Ingress/);
  });
});
