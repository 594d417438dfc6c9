import type { SanitizeRule } from './rule.js';

interface ServiceSpec {
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { nodePort?: number }[];
  healthCheckNodePort?: number;
  type?: string;
  externalIPs?: string[];
}

/**
 * A Service's cluster IPs are allocated from the source's service CIDR and its node ports from the
 * source's range; in the target they may be taken or out of range, so they are allocated anew.
 * Headless Services ("None") keep their clusterIP: it is a choice, not an allocation. With
 * `keepNodePorts` the node ports and the health-check node port stay, for clients outside the cluster
 * that were given them (the target refuses the Service if one is taken or out of its range). External
 * IPs never stay.
 */
export const serviceAddresses: SanitizeRule = (obj, ctx) => {
  if (obj.kind !== 'Service') return;
  const spec = obj.spec as ServiceSpec | undefined;
  if (!spec) return;
  if (spec.clusterIP !== 'None') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  // Addresses of the source's network: in the target, a Service claiming them captures their traffic
  // (the CVE-2020-8554 class), so they are never carried over.
  delete spec.externalIPs;
  if (ctx.keepNodePorts) return;
  for (const port of spec.ports ?? []) delete port.nodePort;
  delete spec.healthCheckNodePort;
};
