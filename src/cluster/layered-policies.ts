/**
 * The policy each Pod is judged by with --mount-policies: the cluster policy
 * narrowed by the MountPolicies of the Pod's namespace. Memoized per namespace,
 * so an admission costs a map look-up; a namespace's memo goes when its
 * MountPolicies change, and all of them when the cluster policy is reloaded or
 * the cache gains or loses its sync.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { layeredPolicy } from '../policy/layers.js';
import type { MountPolicyTable } from './mount-policy-cache.js';

/** Beyond this many namespaces the memo starts over, so that it stays bounded however many namespaces send Pods. */
const MAX_MEMOIZED_NAMESPACES = 4096;

export class LayeredPolicies {
  readonly #memo = new Map<string, CompiledPolicy>();
  #cluster: CompiledPolicy | undefined;

  constructor(
    private readonly cluster: { readonly policy: CompiledPolicy },
    private readonly table: MountPolicyTable,
  ) {
    table.onChange(({ namespace, layersChanged }) => {
      if (!layersChanged) return;
      if (namespace === undefined) this.#memo.clear();
      else this.#memo.delete(namespace);
    });
  }

  /** The policy for a Pod of `namespace`; a review without one (never a Pod's) gets the layers of namespace "" (none once synced). */
  policyFor(namespace: string | undefined): CompiledPolicy {
    const cluster = this.cluster.policy;
    // A reload swaps the compiled policy object, so comparing references notices it without a listener.
    if (cluster !== this.#cluster) {
      this.#memo.clear();
      this.#cluster = cluster;
    }
    const key = namespace ?? '';
    let policy = this.#memo.get(key);
    if (policy === undefined) {
      policy = layeredPolicy(cluster, this.table.layersOf(key));
      if (this.#memo.size >= MAX_MEMOIZED_NAMESPACES) this.#memo.clear();
      this.#memo.set(key, policy);
    }
    return policy;
  }
}
