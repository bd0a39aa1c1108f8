/**
 * The Kubernetes client for --mount-policies, imported only when the feature is
 * on: @kubernetes/client-node costs some 70 MiB of memory, which a server
 * without it should not carry.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeconfigError } from '../server/namespace-cache.js';

export type KubernetesClient = typeof import('@kubernetes/client-node');

export interface Cluster {
  readonly k8s: KubernetesClient;
  readonly config: KubeConfig;
}

/** The client module and the cluster of `kubeconfigPath` (else KUBECONFIG, ~/.kube/config or in-cluster), or a KubeconfigError. */
export async function connect(kubeconfigPath: string | undefined, purpose: string): Promise<Cluster> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  try {
    if (kubeconfigPath === undefined) config.loadFromDefault();
    else config.loadFromFile(kubeconfigPath);
    if (config.getCurrentCluster() === null) throw new Error('no current cluster');
  } catch (error) {
    const source = kubeconfigPath ?? 'the default kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster)';
    throw new KubeconfigError(`${source}: cannot load a cluster for ${purpose}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { k8s, config };
}

/** The HTTP status of a failed client call, if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'number') return error.code;
  if ('statusCode' in error && typeof error.statusCode === 'number') return error.statusCode;
  return undefined;
}
