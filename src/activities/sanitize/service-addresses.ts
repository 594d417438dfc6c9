import type { SanitizeRule } from './index.js';

interface ServiceSpec {
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { nodePort?: number }[];
  type?: string;
}

/**
 * A Service's cluster IPs are allocated from the source's service CIDR and its node ports from the
 * source's range; in the target they may be taken or out of range, so both are allocated anew.
 * Headless Services ("None") keep their clusterIP: it is a choice, not an allocation.
 */
export const serviceAddresses: SanitizeRule = (obj) => {
  if (obj.kind !== 'Service') return;
  const spec = obj.spec as ServiceSpec | undefined;
  if (!spec) return;
  if (spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  for (const port of spec.ports ?? []) delete port.nodePort;
};
