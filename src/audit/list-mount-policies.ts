/**
 * The MountPolicies audit judges existing Pods with: those of the audited
 * namespace, or of every namespace. A cluster without the MountPolicy
 * resource has none.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { compileMountPolicy, MOUNT_POLICY_GROUP, MOUNT_POLICY_RESOURCE, MOUNT_POLICY_VERSION, type CompiledMountPolicy } from '../policy/mount-policy.js';
import type { Scope } from './list-pods.js';

const GROUP_VERSION_RESOURCE = { group: MOUNT_POLICY_GROUP, version: MOUNT_POLICY_VERSION, plural: MOUNT_POLICY_RESOURCE };

/** A list without its items is no answer: judged as if there were no MountPolicies, Pods would be judged too leniently. */
function itemsOf(list: unknown): unknown[] {
  const items = typeof list === 'object' && list !== null && 'items' in list ? list.items : undefined;
  if (!Array.isArray(items)) throw new Error('the answer holds no list of items');
  return items as unknown[];
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 404;
}

/** Compiled MountPolicies of the scope, or 'not-installed' when the API server has no such resource. */
export async function listMountPolicies(config: KubeConfig, scope: Scope): Promise<CompiledMountPolicy[] | 'not-installed'> {
  const api = config.makeApiClient(CustomObjectsApi);
  try {
    const list: unknown =
      scope === 'all-namespaces'
        ? await api.listClusterCustomObject(GROUP_VERSION_RESOURCE)
        : await api.listNamespacedCustomObject({ ...GROUP_VERSION_RESOURCE, namespace: scope.namespace });
    return itemsOf(list).map(compileMountPolicy);
  } catch (error) {
    if (isNotFound(error)) return 'not-installed';
    throw error;
  }
}
