/**
 * Judges a Pod that already exists the way /validate would judge its
 * creation today. Who created it is not known any more, so the requesters
 * rule is left out; every other rule applies.
 */
import { decide } from '../admission/decide.js';
import { podCreateRequest } from '../admission/synthetic-request.js';
import type { Violation } from '../admission/violation.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { layeredPolicy } from '../policy/layers.js';
import type { CompiledMountPolicy } from '../policy/mount-policy.js';

export interface Finding {
  readonly namespace: string;
  readonly pod: string;
  readonly violations: readonly Violation[];
}

/** The policy audit judges by: the same, without requesters. */
export function auditPolicy(policy: CompiledPolicy): CompiledPolicy {
  return compilePolicy({ ...policy.spec, requesters: [] });
}

/** The policy of each namespace: the audit policy narrowed by that namespace's MountPolicies, as the server layers them. */
export function policiesByNamespace(policy: CompiledPolicy, mountPolicies: readonly CompiledMountPolicy[]): (namespace: string) => CompiledPolicy {
  const byNamespace = new Map<string, CompiledMountPolicy[]>();
  for (const mountPolicy of mountPolicies) {
    const list = byNamespace.get(mountPolicy.ref.namespace) ?? [];
    list.push(mountPolicy);
    byNamespace.set(mountPolicy.ref.namespace, list);
  }
  const layered = new Map([...byNamespace].map(([namespace, policies]) => [namespace, layeredPolicy(policy, { known: true, policies })]));
  return (namespace) => layered.get(namespace) ?? policy;
}

export function judgeExistingPod(pod: unknown, policy: CompiledPolicy): Finding | undefined {
  const verdict = decide('validate', podCreateRequest(pod, {}, 'mountgate-audit'), policy);
  if (verdict.allowed) return undefined;
  const { namespace, name } = identify(pod);
  return { namespace, pod: name, violations: verdict.violations };
}

function identify(pod: unknown): { namespace: string; name: string } {
  const metadata = typeof pod === 'object' && pod !== null && 'metadata' in pod ? pod.metadata : undefined;
  const read = (key: string): string => {
    const value: unknown = typeof metadata === 'object' && metadata !== null ? Object.getOwnPropertyDescriptor(metadata, key)?.value : undefined;
    return typeof value === 'string' ? value : '';
  };
  return { namespace: read('namespace'), name: read('name') };
}
