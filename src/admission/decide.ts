/**
 * The decision core: one pure function from (stage, admission request,
 * policy) to a verdict. /mutate, /validate and `mountgate check` all call it.
 */
import { additionsPatch } from './additions-patch.js';
import { annotationDisagreements, judgeAnnotationUpdate, judgeBinding, sandboxUserAtCreation } from './annotation-update.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { checkHostPathVolumes } from './host-paths.js';
import { mountPointsAtCreation } from './mount-points.js';
import { planMounts } from './plan.js';
import { podSecurityViolation, type ClusterFacts } from './pod-security.js';
import { baselineViolations } from './pod-security-baseline.js';
import { requestFillings } from './placeholders.js';
import { isCheckedPod, podProblem, type CheckedPod } from './pod.js';
import { copyForApply, injectedMountsOutsideTargets, reconcile } from './reconcile.js';
import type { AdmissionRequest } from './review.js';
import { allow, deny, SKIPPED, type Verdict } from './verdict.js';
import { earlierEphemeralNames, ephemeralRootMounts } from './volume-root.js';
import { hasViolations, violation, type Violation } from './violation.js';

export type Stage = 'mutate' | 'validate';

/**
 * Which requests concern mountgate at all; everything else is allowed untouched.
 * A Pod UPDATE (the Pod itself, or pods/status, which writes metadata too) and a
 * Binding (it copies its annotations onto the Pod) concern the annotation only.
 */
export type Concern = 'pod-create' | 'ephemeral-containers-update' | 'pod-update' | 'binding-create' | 'none';

export function concernOf(request: AdmissionRequest): Concern {
  if (request.resource.group !== '') return 'none';
  const subResource = request.subResource ?? '';
  if (request.resource.resource === 'bindings') return subResource === '' && request.operation === 'CREATE' ? 'binding-create' : 'none';
  if (request.resource.resource !== 'pods') return 'none';
  if (subResource === '' && request.operation === 'CREATE') return 'pod-create';
  if (subResource === 'ephemeralcontainers' && request.operation === 'UPDATE') return 'ephemeral-containers-update';
  if ((subResource === '' || subResource === 'status') && request.operation === 'UPDATE') return 'pod-update';
  if (subResource === 'binding' && request.operation === 'CREATE') return 'binding-create';
  return 'none';
}

/** `facts` are what the edge knows of the cluster (Pod Security levels); without them nothing extra is checked. */
export function decide(stage: Stage, request: AdmissionRequest, policy: CompiledPolicy, facts: ClusterFacts = {}): Verdict {
  const concern = concernOf(request);
  if (concern === 'none' || (stage === 'mutate' && concern !== 'pod-create')) return SKIPPED;
  if (concern === 'binding-create') return judgeBinding(request, policy);

  const pod = request.object;
  if (!isCheckedPod(pod)) {
    return deny([violation('unreadable-pod', 'request.object', `is not a readable Pod: ${podProblem(pod) ?? 'unknown shape'}`)], [], 400);
  }
  if (concern === 'pod-update') return judgeAnnotationUpdate(pod, request, policy);
  return stage === 'mutate' ? mutate(pod, request, policy, facts) : validate(pod, concern, request, policy);
}

/** Section 6 and 7: judge the annotation, then add what it asks for to a copy and write down the additions. */
function mutate(pod: CheckedPod, request: AdmissionRequest, policy: CompiledPolicy, facts: ClusterFacts): Verdict {
  const fillings = requestFillings(pod, policy, request);
  const planned = planMounts(pod, policy, request, fillings);
  if (planned.kind === 'none') return allow();
  if (planned.kind === 'denied') return deny(planned.violations, planned.warnings);

  const mutated = copyForApply(pod, planned.plan);
  const violations = reconcile(mutated, planned.plan, 'apply');
  if (policy.handWritten !== undefined) violations.push(...injectedMountsOutsideTargets(pod, planned.plan));
  const podSecurity = planned.plan.volumes.length > 0 ? podSecurityViolation(request.namespace, facts) : undefined;
  if (podSecurity !== undefined) violations.push(podSecurity);
  // On the Pod as mutated, as /validate judges it: the volumes and mounts added here make the rules apply (a sandbox
  // user beside hostPath volumes; a mount point inside a read-only host mount, as nested requests make). Refused for
  // either here, the Pod gets /validate's whole answer (a hand-written volume outside the lists first, as there and in
  // the backstop), not these reasons alone, so that the first reason, the audit record's, is the one /validate names.
  const untrusted = sandboxUserAtCreation(mutated, policy, request);
  const mountPoints = mountPointsAtCreation(mutated, policy, fillings);
  if (untrusted !== undefined || mountPoints.length > 0) {
    const reasons = [...mountPoints, ...(untrusted === undefined ? [] : [untrusted])];
    // Not empty: validation of the mutated Pod finds these reasons too.
    violations.push(...(hasViolations(violations) ? reasons : validationViolations(mutated, 'pod-create', request, policy)));
  }
  if (hasViolations(violations)) return deny(violations, planned.warnings);
  // Against the object exactly as it arrived, so the patch holds only additions.
  const patch = additionsPatch(pod, mutated, planned.plan.targets);
  return patch.length > 0 ? allow(planned.warnings, patch, mutated) : allow(planned.warnings);
}

/** Section 8: re-judge the final Pod; annotation and injection must agree, and every hostPath lie inside the lists. */
function validate(pod: CheckedPod, concern: Concern, request: AdmissionRequest, policy: CompiledPolicy): Verdict {
  const violations = validationViolations(pod, concern, request, policy);
  return hasViolations(violations) ? deny(violations) : allow();
}

/** What /validate refuses in the Pod, in its fixed order; empty when it admits it. */
function validationViolations(pod: CheckedPod, concern: Concern, request: AdmissionRequest, policy: CompiledPolicy): Violation[] {
  const violations: Violation[] = [];
  // Filled once: the annotation's entries and the Pod's volumes are judged with the same values.
  const fillings = requestFillings(pod, policy, request);
  if (concern === 'pod-create') violations.push(...annotationDisagreements(pod, policy, request, fillings));
  const earlierEphemeral = concern === 'ephemeral-containers-update' ? earlierEphemeralNames(request.oldObject) : undefined;
  violations.push(...checkHostPathVolumes(pod, policy, fillings, concern === 'pod-create', earlierEphemeral));
  if (concern === 'ephemeral-containers-update') violations.push(...ephemeralRootMounts(pod, request.oldObject));
  // Last, as the backstop checks it last, so that both name the same first reason.
  const untrusted = concern === 'pod-create' ? sandboxUserAtCreation(pod, policy, request) : undefined;
  if (untrusted !== undefined) violations.push(untrusted);
  if (policy.baseline) violations.push(...baselineViolations(pod));
  return violations;
}
