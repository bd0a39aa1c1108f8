/**
 * An informer-backed cache of each namespace's Pod Security enforce level,
 * for the preflight in /mutate. Until the cache has listed the namespaces
 * (or after its watch broke) it answers "unknown", which never blocks.
 */
import type { Informer, V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { enforceLevel, type PodSecurityLevel } from '../admission/pod-security.js';

const RESTART_DELAY_MS = 5_000;

export interface NamespaceLevels {
  /** The level of `namespace`, or undefined when unknown (not synced, unlabelled, or unrecognised). */
  levelOf(namespace: string | undefined): PodSecurityLevel | undefined;
  readonly synced: boolean;
}

/** The map the informer keeps up to date; pure, so it is tested on recorded objects. */
export class NamespaceLevelTable implements NamespaceLevels {
  readonly #levels = new Map<string, PodSecurityLevel>();
  #synced = false;

  get synced(): boolean {
    return this.#synced;
  }

  markSynced(synced: boolean): void {
    this.#synced = synced;
  }

  upsert(namespace: V1Namespace): void {
    const name = namespace.metadata?.name;
    if (name === undefined) return;
    const level = enforceLevel(namespace.metadata?.labels);
    if (level === undefined) this.#levels.delete(name);
    else this.#levels.set(name, level);
  }

  remove(namespace: V1Namespace): void {
    const name = namespace.metadata?.name;
    if (name !== undefined) this.#levels.delete(name);
  }

  levelOf(namespace: string | undefined): PodSecurityLevel | undefined {
    if (!this.#synced || namespace === undefined) return undefined;
    return this.#levels.get(namespace);
  }
}

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

export interface NamespaceWatch {
  readonly levels: NamespaceLevels;
  stop(): Promise<void>;
}

/**
 * Starts listing and watching namespaces; returns once the client is set up, syncing in the background.
 * The Kubernetes client is imported here, not at the top: it costs some 70 MiB of memory, which a
 * server without the preflight should not carry.
 */
export async function watchNamespaces(kubeconfigPath: string | undefined, logger: Logger, onSyncChange: (synced: boolean) => void): Promise<NamespaceWatch> {
  const { CoreV1Api, KubeConfig, makeInformer } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  try {
    if (kubeconfigPath === undefined) config.loadFromDefault();
    else config.loadFromFile(kubeconfigPath);
    if (config.getCurrentCluster() === null) throw new Error('no current cluster');
  } catch (error) {
    const source = kubeconfigPath ?? 'the default kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster)';
    throw new KubeconfigError(`${source}: cannot load a cluster for the Pod Security preflight: ${error instanceof Error ? error.message : String(error)}`);
  }
  const api = config.makeApiClient(CoreV1Api);
  const table = new NamespaceLevelTable();
  const informer: Informer<V1Namespace> = makeInformer(config, '/api/v1/namespaces', () => api.listNamespace());
  informer.on('add', (namespace) => table.upsert(namespace));
  informer.on('update', (namespace) => table.upsert(namespace));
  informer.on('delete', (namespace) => table.remove(namespace));

  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  const setSynced = (synced: boolean): void => {
    if (table.synced !== synced) onSyncChange(synced);
    table.markSynced(synced);
  };
  const begin = (): void => {
    informer.start().then(
      () => {
        if (stopped) return;
        setSynced(true);
        logger.info('namespace cache synced: Pod Security preflight active');
      },
      (error: unknown) => onError(error),
    );
  };
  const onError = (error: unknown): void => {
    setSynced(false);
    if (stopped) return;
    logger.warn({ err: String(error) }, 'namespace watch failed; Pod Security preflight paused until it recovers');
    clearTimeout(restart);
    restart = setTimeout(begin, RESTART_DELAY_MS);
    restart.unref();
  };
  informer.on('error', onError);
  begin();

  return {
    levels: table,
    async stop() {
      stopped = true;
      clearTimeout(restart);
      await informer.stop();
    },
  };
}
