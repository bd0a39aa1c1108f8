/**
 * What a MountPolicy's status should say, from the cluster policy in force,
 * the compiled MountPolicy and the other MountPolicies of its namespace (Pods
 * are judged by all of them, so the status describes all of them); pure, so
 * that "written only when it changed" is a comparison of plain data.
 * lastTransitionTime moves only when the Ready condition's status does, as
 * Kubernetes conditions do.
 */
import { cutEnd } from '../admission/bounded-text.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { describeEffective, effectiveAllowedHostPaths, type EffectiveHostPaths } from '../policy/effective.js';
import { describeMountPolicies, wideningProblems, type CompiledMountPolicy } from '../policy/mount-policy.js';

/** The CRD caps a condition message at 32768 characters; a longer one would make every status write fail. */
export const MAX_MESSAGE_LENGTH = 32_768;
const CUT = ' ... (cut; the whole list is effectiveAllowedHostPaths)';

export interface ReadyCondition {
  readonly type: 'Ready';
  readonly status: 'True' | 'False';
  readonly reason: 'Enforced' | 'Invalid';
  readonly message: string;
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}

export interface MountPolicyStatus {
  readonly observedGeneration: number;
  readonly conditions: readonly ReadyCondition[];
  readonly effectiveAllowedHostPaths: ReadonlyArray<{ readonly pathPrefix: string; readonly readOnly: boolean }>;
}

/**
 * The whole status, mountgate's alone to write; `siblings` are the other MountPolicies of its namespace, `current`
 * the status as stored, for lastTransitionTime. `effective` is effectiveAllowedHostPaths of the namespace, when the
 * caller has it already (it is the same for every MountPolicy there).
 */
export function desiredStatus(
  cluster: CompiledPolicy,
  policy: CompiledMountPolicy,
  siblings: readonly CompiledMountPolicy[],
  current: unknown,
  now: string,
  effective: EffectiveHostPaths = effectiveAllowedHostPaths(cluster, policy.ref.namespace, [policy, ...siblings]),
): MountPolicyStatus {
  const { status, reason, message: full } = readiness(cluster, policy, siblings, effective);
  // Never inside a surrogate pair: the API server would store U+FFFD there, and the status would never match what is written.
  const message = cutEnd(full, MAX_MESSAGE_LENGTH, CUT);
  const previous = readyConditionOf(current);
  const lastTransitionTime = previous !== undefined && previous.status === status && typeof previous.lastTransitionTime === 'string' ? previous.lastTransitionTime : now;
  return {
    observedGeneration: policy.generation,
    conditions: [{ type: 'Ready', status, reason, message, observedGeneration: policy.generation, lastTransitionTime }],
    effectiveAllowedHostPaths: effective.entries,
  };
}

function readiness(
  cluster: CompiledPolicy,
  policy: CompiledMountPolicy,
  siblings: readonly CompiledMountPolicy[],
  effective: EffectiveHostPaths,
): Pick<ReadyCondition, 'status' | 'reason' | 'message'> {
  const generation = `generation ${policy.generation}`;
  if (policy.problems.length > 0) {
    return { status: 'False', reason: 'Invalid', message: `mountgate cannot read ${generation}, so Pods of namespace ${policy.ref.namespace} get no host path: ${policy.problems.join('; ')}` };
  }
  const allowed = describeEffective(effective, 'host paths under ', true);
  const others = siblings.length === 0 ? '' : ` (with ${describeMountPolicies(siblings.map((sibling) => sibling.ref))})`;
  const outside = wideningProblems(cluster, policy);
  const note = outside.length === 0 ? '' : `; beyond the cluster policy now, so in force only as far as it also allows: ${outside.join('; ')}`;
  return { status: 'True', reason: 'Enforced', message: `mountgate enforces ${generation}: Pods of namespace ${policy.ref.namespace} may use ${allowed}${others}${note}` };
}

/** The Ready condition of a status as stored, if it has one. */
function readyConditionOf(status: unknown): { status?: unknown; lastTransitionTime?: unknown } | undefined {
  if (typeof status !== 'object' || status === null || !('conditions' in status) || !Array.isArray(status.conditions)) return undefined;
  const conditions: unknown[] = status.conditions;
  return conditions.find((condition): condition is { status?: unknown; lastTransitionTime?: unknown } => typeof condition === 'object' && condition !== null && 'type' in condition && condition.type === 'Ready');
}

/** True when the stored status already says what `desired` says (key order and absent keys aside). */
export function sameStatus(stored: unknown, desired: MountPolicyStatus): boolean {
  return canonicalJson(stored) === canonicalJson(desired);
}

/** JSON with every object's keys in order, so that two statuses compare whatever order the API server keeps. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return inner;
    return Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}
