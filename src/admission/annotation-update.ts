/**
 * The annotation never lies: host mounts are fixed when a Pod is created (a
 * Pod's volumes cannot change afterwards), so the policy annotation must agree
 * with the Pod's mountgate volumes when the Pod is created, and every later
 * write that touches it must leave it agreeing. Pure; /validate calls it for
 * Pod CREATEs, Pod UPDATEs (the Pod itself and pods/status, whose writes also
 * reach metadata) and Bindings (which copy their annotations onto the Pod).
 */
import type { CompiledPolicy } from '../policy/compile.js';
import type { Fillings } from '../policy/match.js';
import { isInjectedName } from './injection.js';
import { annotationField, planMounts } from './plan.js';
import { annotationValue, isAnnotated, isCheckedPod, podProblem, volumesOf, type CheckedPod } from './pod.js';
import { requestFillings, type RequestContext } from './placeholders.js';
import { injectedMountsOutsideTargets, reconcile } from './reconcile.js';
import type { AdmissionRequest } from './review.js';
import { allow, deny, SKIPPED, type Verdict } from './verdict.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

type Change = 'added' | 'changed' | 'removed';

const FIXED = 'host mounts are fixed when a Pod is created';

const ADVICE: Readonly<Record<Change, string>> = {
  added: 'create a new Pod that carries the annotation instead',
  changed: 'create a new Pod that carries the new value instead',
  removed: 'the Pod keeps its mounts, so it keeps the annotation (create a new Pod without it instead)',
};

/**
 * A Pod UPDATE: allowed untouched when the annotation stays as it was;
 * otherwise only when the Pod already carries exactly what the new value asks
 * for (judged as /validate judges a CREATE, by the user making the update), or,
 * when the annotation goes, no mountgate volume at all.
 */
export function judgeAnnotationUpdate(pod: CheckedPod, request: AdmissionRequest, policy: CompiledPolicy): Verdict {
  const old = request.oldObject;
  if (!isCheckedPod(old)) {
    return deny([violation('unreadable-pod', 'request.oldObject', `is not a readable Pod: ${podProblem(old) ?? 'unknown shape'}`)], [], 400);
  }
  const before = annotationValue(old, policy.annotation);
  const after = annotationValue(pod, policy.annotation);
  if (before === after) return SKIPPED;

  const change: Change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
  const disagreements = annotationDisagreements(pod, policy, request, requestFillings(pod, policy, request));
  if (disagreements.length === 0) return allow();
  return deny([violation('annotation-fixed-at-creation', annotationField(policy), `was ${change} by an update, but ${FIXED}: ${ADVICE[change]}`), ...disagreements]);
}

/**
 * A Binding (pods/binding, or the bindings resource) copies its annotations
 * onto the Pod it binds; one that sets the policy annotation is refused,
 * whatever its value: the Pod's mounts were settled at its creation.
 */
export function judgeBinding(request: AdmissionRequest, policy: CompiledPolicy): Verdict {
  const binding = request.object;
  if (!isAnnotated(binding)) {
    return deny([violation('unreadable-pod', 'request.object', 'is not a readable Binding: its metadata.annotations must be an object of strings')], [], 400);
  }
  if (annotationValue(binding, policy.annotation) === undefined) return SKIPPED;
  return deny([violation('annotation-fixed-at-creation', annotationField(policy), `is set by a Binding, but ${FIXED}: a Binding may not set it`)]);
}

/**
 * Where a Pod's annotation and its mounts disagree, judged as /validate judges
 * a CREATE by the request's user in its namespace: the annotation breaks a
 * rule, asks for a mount the Pod lacks, or the Pod carries a `mountgate-`
 * volume or mount it does not ask for (without the annotation: any
 * `mountgate-` hostPath volume).
 */
export function annotationDisagreements(pod: CheckedPod, policy: CompiledPolicy, request: RequestContext, fillings: Fillings): readonly Violation[] {
  const planned = planMounts(pod, policy, request, fillings);
  if (planned.kind === 'denied') return planned.violations;
  if (planned.kind === 'planned') {
    const violations = reconcile(pod, planned.plan, 'verify');
    if (policy.handWritten !== undefined) violations.push(...injectedMountsOutsideTargets(pod, planned.plan));
    return violations;
  }
  return unrequestedMounts(pod);
}

/** Every `mountgate-` hostPath volume, for a Pod without the annotation (the first few named, the rest counted). */
function unrequestedMounts(pod: CheckedPod): Violation[] {
  const violations: Violation[] = [];
  const unrequested = new NamedThenCounted(violations);
  volumesOf(pod).forEach((volume, index) => {
    const hostPath = volume.hostPath;
    if (!isInjectedName(volume.name) || hostPath === undefined || hostPath === null) return;
    unrequested.add(() =>
      violation('injection-mismatch', `spec.volumes[${index}]`, `volume "${volume.name}" mounts "${hostPath.path}" from the host, but no annotation asks for it`),
    );
  });
  unrequested.close((count) => violation('injection-mismatch', 'spec.volumes', `${count} more mountgate volumes that no annotation asks for`));
  return violations;
}
