/**
 * Judges a Pod that already exists the way /validate would judge its
 * creation today, and whether its annotation and volumes agree. Who created it
 * is not known any more, so the requesters rule is left out; every other rule
 * applies.
 */
import { unrequestedMounts } from '../admission/annotation-update.js';
import { decide } from '../admission/decide.js';
import { annotationValue, isCheckedPod } from '../admission/pod.js';
import { podCreateRequest } from '../admission/synthetic-request.js';
import type { Violation } from '../admission/violation.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';

export interface Finding {
  readonly namespace: string;
  readonly pod: string;
  readonly violations: readonly Violation[];
}

/** The policy audit judges by: the same, without requesters. */
export function auditPolicy(policy: CompiledPolicy): CompiledPolicy {
  return compilePolicy({ ...policy.spec, requesters: [] });
}

/**
 * What /validate would refuse in the Pod's creation today, and, when it has no
 * annotation, the host mounts mountgate added that nothing asks for any more
 * (an annotation that asks for missing mounts is already refused as a CREATE).
 */
export function judgeExistingPod(pod: unknown, policy: CompiledPolicy): Finding | undefined {
  const verdict = decide('validate', podCreateRequest(pod, {}, 'mountgate-audit'), policy);
  const violations = [...(verdict.allowed ? [] : verdict.violations), ...unannotatedMounts(pod, policy)];
  if (violations.length === 0) return undefined;
  const { namespace, name } = identify(pod);
  return { namespace, pod: name, violations };
}

function unannotatedMounts(pod: unknown, policy: CompiledPolicy): readonly Violation[] {
  return isCheckedPod(pod) && annotationValue(pod, policy.annotation) === undefined ? unrequestedMounts(pod) : [];
}

function identify(pod: unknown): { namespace: string; name: string } {
  const metadata = typeof pod === 'object' && pod !== null && 'metadata' in pod ? pod.metadata : undefined;
  const read = (key: string): string => {
    const value: unknown = typeof metadata === 'object' && metadata !== null ? Object.getOwnPropertyDescriptor(metadata, key)?.value : undefined;
    return typeof value === 'string' ? value : '';
  };
  return { namespace: read('namespace'), name: read('name') };
}
