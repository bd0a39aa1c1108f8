/**
 * Judges a MountPolicy as it is written (the validating webhook at
 * /validate-mountpolicy): refused when invalid or when it would reach outside
 * the cluster policy, so that `kubectl apply` says why at once. Pod admission
 * still intersects every stored MountPolicy, since the cluster policy can
 * shrink later.
 */
import { compare } from './json-patch.js';
import type { CompiledPolicy } from '../policy/compile.js';
import {
  compileMountPolicy,
  judgedPartOf,
  MOUNT_POLICY_GROUP,
  MOUNT_POLICY_RESOURCE,
  narrowingWarnings,
  wideningProblems,
} from '../policy/mount-policy.js';
import type { AdmissionRequest } from './review.js';
import { allow, deny, SKIPPED, type Verdict } from './verdict.js';
import { hasViolations, violation, type Rule } from './violation.js';

/**
 * Only a spec that is new or changed is judged: a label added to an older MountPolicy is not refused because the
 * cluster policy shrank since. A key added beside the spec is a change too: the stored MountPolicy would be invalid.
 */
function specChanged(request: AdmissionRequest): boolean {
  if (request.operation === 'CREATE') return true;
  const before = judgedPartOf(request.oldObject);
  const after = judgedPartOf(request.object);
  if (before === undefined || after === undefined) return before !== after;
  return compare(before, after).length > 0;
}

export function judgeMountPolicyWrite(request: AdmissionRequest, cluster: CompiledPolicy): Verdict {
  const concerned =
    request.resource.group === MOUNT_POLICY_GROUP &&
    request.resource.resource === MOUNT_POLICY_RESOURCE &&
    (request.subResource ?? '') === '' &&
    (request.operation === 'CREATE' || request.operation === 'UPDATE');
  if (!concerned || !specChanged(request)) return SKIPPED;

  const policy = compileMountPolicy(request.object);
  const [rule, problems]: [Rule, string[]] =
    policy.problems.length > 0 ? ['mount-policy-invalid', [...policy.problems]] : ['mount-policy-widens', wideningProblems(cluster, policy)];
  const violations = problems.map((problem) => violation(rule, '', problem));
  if (hasViolations(violations)) return deny(violations, [], 403, 'the MountPolicy');
  return allow(narrowingWarnings(cluster, policy));
}
