/**
 * Loading a kubeconfig (a file, or KUBECONFIG, ~/.kube/config, in-cluster) with
 * @kubernetes/client-node's KubeConfig, which also does the auth (token files, exec
 * plugins, client certificates, OIDC) for every request.
 *
 * The class comes from dist/vendor/kubeconfig.js (scripts/bundle-kubeconfig.mjs): the same
 * code without the generated API models the package's index loads, which cost some 70 MiB of
 * memory. Running from src/ (tests under tsx) there is no bundle, and the package is used.
 */
import type { KubeConfig } from '@kubernetes/client-node';

export type { KubeConfig };

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

const BUNDLE = new URL('../vendor/kubeconfig.js', import.meta.url);

async function kubeConfigClass(): Promise<typeof KubeConfig> {
  let loaded: unknown;
  try {
    loaded = await import(BUNDLE.href);
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    loaded = await import('@kubernetes/client-node');
  }
  if (typeof loaded !== 'object' || loaded === null || !('KubeConfig' in loaded) || typeof loaded.KubeConfig !== 'function') {
    throw new Error(`${BUNDLE.pathname} does not export KubeConfig`);
  }
  // The bundle is built from the very module the type comes from.
  return loaded.KubeConfig as typeof KubeConfig;
}

function isModuleNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(BUNDLE.pathname);
}

/**
 * The kubeconfig at `file`, or the default one; fails with a KubeconfigError naming the
 * source when it cannot be read or names no current cluster. `purpose` ends the message.
 */
export async function loadKubeConfig(file: string | undefined, purpose: string): Promise<KubeConfig> {
  const KubeConfigClass = await kubeConfigClass();
  return readKubeConfig(new KubeConfigClass(), file, purpose);
}

type Loadable = Pick<KubeConfig, 'loadFromDefault' | 'loadFromFile' | 'getCurrentCluster' | 'getCurrentContext'>;

/**
 * Loads the kubeconfig at `file`, or the default one. Where the default finds none, the client falls back to an
 * unauthenticated http://localhost:8080, which every request would then fail against: that is refused here.
 */
export function loadFromFileOrDefault(config: Loadable, file: string | undefined): void {
  if (file !== undefined) {
    config.loadFromFile(file);
    return;
  }
  config.loadFromDefault();
  const cluster = config.getCurrentCluster();
  if (config.getCurrentContext() === 'loaded-context' && cluster?.name === 'cluster' && cluster.server === 'http://localhost:8080') {
    throw new Error('none found: KUBECONFIG is not set, there is no ~/.kube/config, and no service account token is mounted');
  }
}

/** loadKubeConfig into a given KubeConfig: the package's own, for its typed API clients. */
export function readKubeConfig<C extends Loadable>(config: C, file: string | undefined, purpose: string): C {
  try {
    loadFromFileOrDefault(config, file);
    if (config.getCurrentCluster() === null) throw new Error('no current cluster');
  } catch (error) {
    const source = file ?? 'the default kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster)';
    throw new KubeconfigError(`${source}: cannot load a cluster for ${purpose}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return config;
}
