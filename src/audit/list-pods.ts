/**
 * Pods of one namespace or of the whole cluster, a page at a time
 * (limit/continue), so memory stays bounded by the page size.
 */
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';

export type Scope = { readonly namespace: string } | 'all-namespaces';

export async function* podPages(config: KubeConfig, scope: Scope, pageSize: number): AsyncGenerator<readonly V1Pod[]> {
  const api = config.makeApiClient(CoreV1Api);
  let token: string | undefined;
  do {
    const page =
      scope === 'all-namespaces'
        ? await api.listPodForAllNamespaces({ limit: pageSize, ...(token ? { _continue: token } : {}) })
        : await api.listNamespacedPod({ namespace: scope.namespace, limit: pageSize, ...(token ? { _continue: token } : {}) });
    yield page.items;
    token = page.metadata?._continue || undefined;
  } while (token !== undefined);
}
