/**
 * The Kubernetes client for --mount-policies, imported only when the feature is
 * on: @kubernetes/client-node costs some 70 MiB of memory, which a server
 * without it should not carry.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { readKubeConfig } from './kubeconfig.js';

export type KubernetesClient = typeof import('@kubernetes/client-node');

export interface Cluster {
  readonly k8s: KubernetesClient;
  readonly config: KubeConfig;
}

/** The client module and the cluster of `kubeconfigPath` (else KUBECONFIG, ~/.kube/config or in-cluster), or a KubeconfigError. */
export async function connect(kubeconfigPath: string | undefined, purpose: string): Promise<Cluster> {
  const k8s = await import('@kubernetes/client-node');
  return { k8s, config: readKubeConfig(new k8s.KubeConfig(), kubeconfigPath, purpose) };
}

/** The HTTP status of a failed client call, if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'number') return error.code;
  if ('statusCode' in error && typeof error.statusCode === 'number') return error.statusCode;
  return undefined;
}
