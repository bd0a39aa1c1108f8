/**
 * A cache of each namespace's Pod Security enforce level, kept by a list and
 * watch of namespaces, for the preflight in /mutate. Until the cache has listed
 * the namespaces (or after its watch broke) it answers "unknown", which never blocks.
 */
import type { Logger } from 'pino';
import { enforceLevel, type PodSecurityLevel } from '../admission/pod-security.js';
import { loadKubeConfig } from '../cluster/kubeconfig.js';
import { startListWatch } from '../cluster/list-watch.js';

export { KubeconfigError } from '../cluster/kubeconfig.js';

const RESTART_DELAY_MS = 5_000;

export interface NamespaceLevels {
  /** The level of `namespace`, or undefined when unknown (not synced, unlabelled, or unrecognised). */
  levelOf(namespace: string | undefined): PodSecurityLevel | undefined;
  readonly synced: boolean;
}

/** What the table reads of a Namespace (a V1Namespace fits). */
export interface NamespaceObject {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
}

/** The map the watch keeps up to date; pure, so it is tested on recorded objects. */
export class NamespaceLevelTable implements NamespaceLevels {
  readonly #levels = new Map<string, PodSecurityLevel>();
  #synced = false;

  get synced(): boolean {
    return this.#synced;
  }

  markSynced(synced: boolean): void {
    this.#synced = synced;
  }

  /** After a (re-)list: exactly the namespaces listed. */
  replace(namespaces: readonly NamespaceObject[]): void {
    this.#levels.clear();
    for (const namespace of namespaces) this.upsert(namespace);
  }

  upsert(namespace: NamespaceObject): void {
    const name = namespace.metadata?.name;
    if (name === undefined) return;
    const level = enforceLevel(namespace.metadata?.labels);
    if (level === undefined) this.#levels.delete(name);
    else this.#levels.set(name, level);
  }

  remove(namespace: NamespaceObject): void {
    const name = namespace.metadata?.name;
    if (name !== undefined) this.#levels.delete(name);
  }

  levelOf(namespace: string | undefined): PodSecurityLevel | undefined {
    if (!this.#synced || namespace === undefined) return undefined;
    return this.#levels.get(namespace);
  }
}

export interface NamespaceWatch {
  readonly levels: NamespaceLevels;
  stop(): Promise<void>;
}

/**
 * Starts listing and watching namespaces; returns once the kubeconfig is loaded, syncing in the
 * background. Neither the list and watch (src/cluster/list-watch.ts) nor the kubeconfig
 * (src/cluster/kubeconfig.ts) loads the generated Kubernetes client, and the kubeconfig code is
 * imported only here, so a server without the preflight does not carry it.
 */
export async function watchNamespaces(kubeconfigPath: string | undefined, logger: Logger, onSyncChange: (synced: boolean) => void): Promise<NamespaceWatch> {
  const config = await loadKubeConfig(kubeconfigPath, 'the Pod Security preflight');
  const table = new NamespaceLevelTable();
  const watch = startListWatch({
    config,
    path: '/api/v1/namespaces',
    decode: asNamespace,
    table,
    retryDelayMs: RESTART_DELAY_MS,
    onSyncChange: (synced) => {
      table.markSynced(synced);
      onSyncChange(synced);
      if (synced) logger.info('namespace cache synced: Pod Security preflight active');
    },
    onError: (error) => logger.warn({ err: error.message }, 'namespace watch failed; Pod Security preflight paused until it recovers'),
  });
  return { levels: table, stop: () => watch.stop() };
}

/** A namespace as the table reads it: a name, and labels when they are a map of strings. */
export function asNamespace(value: unknown): NamespaceObject | undefined {
  if (typeof value !== 'object' || value === null || !('metadata' in value)) return undefined;
  const metadata: unknown = value.metadata;
  if (typeof metadata !== 'object' || metadata === null || !('name' in metadata) || typeof metadata.name !== 'string') return undefined;
  const labels: unknown = 'labels' in metadata ? metadata.labels : undefined;
  return { metadata: { name: metadata.name, labels: isStringMap(labels) ? labels : undefined } };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}
