/**
 * The effective policy of a namespace: the cluster policy narrowed by every
 * MountPolicy of that namespace. Host paths must have a deciding entry in
 * every layer and are read-only if any deciding entry is; reserved targets add
 * up; the smallest maxMounts applies. Never a union: a layer can only take
 * away. The result goes to the same decide() as the cluster policy alone.
 */
import { pathLists, type CompiledPolicy, type NarrowingLayer } from './compile.js';
import { describeMountPolicy, type CompiledMountPolicy } from './mount-policy.js';

/** What the edge knows of a namespace's MountPolicies. */
export type NamespaceLayers =
  | { readonly known: true; readonly policies: readonly CompiledMountPolicy[] }
  /** Not known (cache not synced, watch broken): then no host path may be used there. */
  | { readonly known: false; readonly namespace: string; readonly why: string };

function unknownLayer(namespace: string, why: string): NarrowingLayer {
  return { name: `the MountPolicies of namespace "${namespace}"`, closed: `not known: ${why}`, ...pathLists([], []) };
}

function byName(a: CompiledMountPolicy, b: CompiledMountPolicy): number {
  return a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0;
}

/** The policy decide() gets for a Pod of the namespace; `cluster` itself when no MountPolicy applies. */
export function layeredPolicy(cluster: CompiledPolicy, layers: NamespaceLayers): CompiledPolicy {
  if (!layers.known) return { ...cluster, narrowing: [unknownLayer(layers.namespace, layers.why)] };
  if (layers.policies.length === 0) return cluster;

  // In name order, so that the layer a denial names does not depend on the order the cache saw them in.
  const policies = [...layers.policies].sort(byName);
  const narrowing: NarrowingLayer[] = [];
  const forbiddenTargets = [...cluster.forbiddenTargets];
  const reservedBy = new Map(cluster.reservedBy);
  let { maxMounts, maxMountsLayer } = cluster;
  for (const policy of policies) {
    if (policy.layer !== undefined) narrowing.push(policy.layer);
    if (policy.spec === undefined) continue;
    const name = describeMountPolicy(policy.ref);
    for (const reserved of policy.spec.reservedMountPaths) {
      if (forbiddenTargets.includes(reserved)) continue;
      forbiddenTargets.push(reserved);
      reservedBy.set(reserved, name);
    }
    if (policy.spec.maxMounts !== undefined && policy.spec.maxMounts < maxMounts) {
      maxMounts = policy.spec.maxMounts;
      maxMountsLayer = name;
    }
  }
  return { ...cluster, narrowing: [...cluster.narrowing, ...narrowing], forbiddenTargets, reservedBy, maxMounts, maxMountsLayer };
}
