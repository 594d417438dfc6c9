// The resource types the engine copies, as the API serves them.
import type { ResourceType } from '../domain/request.js';

export interface ResourceTypeInfo {
  resource: ResourceType | 'namespaces';
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

export const NAMESPACES: ResourceTypeInfo = { resource: 'namespaces', apiVersion: 'v1', kind: 'Namespace', namespaced: false };

export const RESOURCE_TYPES: Record<ResourceType, ResourceTypeInfo> = {
  configmaps: { resource: 'configmaps', apiVersion: 'v1', kind: 'ConfigMap', namespaced: true },
  secrets: { resource: 'secrets', apiVersion: 'v1', kind: 'Secret', namespaced: true },
  serviceaccounts: { resource: 'serviceaccounts', apiVersion: 'v1', kind: 'ServiceAccount', namespaced: true },
  services: { resource: 'services', apiVersion: 'v1', kind: 'Service', namespaced: true },
  deployments: { resource: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
};
