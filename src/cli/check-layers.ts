/**
 * `mountgate check --mount-policy FILE`: the namespace's MountPolicies read
 * from files, layered over the cluster policy as the server would, with what
 * the write webhook would say of each and what all of them leave in effect
 * (what the status of each of them says).
 */
import { isRecord } from '../policy/json-object.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { layeredPolicy } from '../policy/layers.js';
import { describeEffective, effectiveAllowedHostPaths } from '../policy/effective.js';
import {
  compileMountPolicy,
  describeMountPolicies,
  describeMountPolicy,
  narrowingWarnings,
  wideningProblems,
  type CompiledMountPolicy,
} from '../policy/mount-policy.js';
import type { Io } from './check.js';
import { readManifests } from './manifests.js';
import { escapeControl } from './usage.js';


/**
 * A manifest without a namespace lands in the one checked, as `kubectl apply -n` would put it; kubectl reads an empty
 * or null namespace as none, so those land there too.
 */
function inNamespace(manifest: unknown, namespace: string): unknown {
  if (!isRecord(manifest) || !isRecord(manifest.metadata)) return manifest;
  const given = manifest.metadata.namespace;
  if (given !== undefined && given !== null && given !== '') return manifest;
  return { ...manifest, metadata: { ...manifest.metadata, namespace } };
}

export async function withMountPolicies(cluster: CompiledPolicy, paths: readonly string[], namespace: string, io: Io): Promise<CompiledPolicy> {
  if (paths.length === 0) return cluster;
  // MountPolicy names and problems come from the manifests as written: one line each, no escape sequence.
  const say = (line: string): void => io.stderr(`${escapeControl(line)}\n`);
  // By name: the API server keeps one object of a name, the last applied, so a later manifest replaces an earlier one.
  const policies = new Map<string, CompiledMountPolicy>();
  for (const path of paths) {
    for (const manifest of await readManifests(path, io, 'MountPolicy', 'any')) {
      const policy = compileMountPolicy(inNamespace(manifest, namespace));
      const name = describeMountPolicy(policy.ref);
      if (policy.ref.namespace !== namespace) {
        say(`note: ${name} is for namespace "${policy.ref.namespace}", not "${namespace}": left out`);
        continue;
      }
      if (policies.has(policy.ref.name)) say(`note: ${name} is given more than once: the last one is layered, as the API server keeps one object of a name`);
      policies.set(policy.ref.name, policy);
    }
  }
  const layered = [...policies.values()];
  // Of the copies of one name, only the one layered is judged: an earlier copy's warnings would speak of nothing in force.
  for (const policy of layered) {
    const name = describeMountPolicy(policy.ref);
    if (policy.problems.length > 0) {
      say(`warning: ${name} is invalid, so it allows no host path: ${policy.problems.join('; ')}`);
    } else {
      for (const problem of wideningProblems(cluster, policy)) say(`warning: ${name} would be refused when written: ${problem}`);
      for (const warning of narrowingWarnings(cluster, policy)) say(`warning: ${name}: ${warning}`);
    }
  }
  if (layered.length > 0) {
    const refs = layered.map((policy) => policy.ref);
    say(`namespace ${namespace} with ${describeMountPolicies(refs)}: host paths in effect: ${describeEffective(effectiveAllowedHostPaths(cluster, namespace, layered), '', false)}`);
  }
  return layeredPolicy(cluster, { known: true, policies: layered });
}
