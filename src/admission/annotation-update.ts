/**
 * The annotation never lies: host mounts are fixed when a Pod is created (a
 * Pod's volumes cannot change afterwards), so the policy annotation must agree
 * with the Pod's mountgate volumes when the Pod is created, and every later
 * write that touches it must leave it agreeing. The sandbox-user annotation is
 * fixed with them: `kubectl debug` judges a Pod's hostPath volumes again with
 * {sandboxUser} filled from it, so a later write must not change whose
 * directories those are. Pure; /validate calls it for Pod CREATEs, Pod UPDATEs
 * (the Pod itself and pods/status, whose writes also reach metadata) and
 * Bindings (which copy their annotations onto the Pod).
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { describeRequester, listsRequester, type Fillings } from '../policy/match.js';
import { quoted } from '../policy/paths.js';
import { isInjectedName } from './injection.js';
import { annotationField, planMounts } from './plan.js';
import { annotationValue, hasHostPathVolume, isAnnotated, isCheckedPod, podProblem, volumesOf, type CheckedPod } from './pod.js';
import { requestFillings, type RequestContext } from './placeholders.js';
import { injectedMountsOutsideTargets, reconcile } from './reconcile.js';
import type { AdmissionRequest } from './review.js';
import { allow, deny, SKIPPED, type Verdict } from './verdict.js';
import { hasViolations, NamedThenCounted, violation, type Violation } from './violation.js';

type Change = 'added' | 'changed' | 'removed';

const FIXED = 'host mounts are fixed when a Pod is created';
const USER_FIXED = "a Pod's sandbox user is fixed when it is created";

const ADVICE: Readonly<Record<Change, string>> = {
  added: 'create a new Pod that carries the annotation instead',
  changed: 'create a new Pod that carries the new value instead',
  removed: 'the Pod keeps its mounts, so it keeps the annotation (create a new Pod without it instead)',
};

/**
 * A Pod UPDATE: allowed untouched when both annotations stay as they were.
 * A new policy annotation is allowed only when the Pod already carries exactly
 * what the new value asks for (judged as /validate judges a CREATE, by the user
 * making the update), or, when the annotation goes, no mountgate volume at all.
 * The sandbox-user annotation may change only on a Pod without hostPath volumes,
 * where nothing is judged with it.
 */
export function judgeAnnotationUpdate(pod: CheckedPod, request: AdmissionRequest, policy: CompiledPolicy): Verdict {
  const old = request.oldObject;
  if (!isCheckedPod(old)) {
    return deny([violation('unreadable-pod', 'request.oldObject', `is not a readable Pod: ${podProblem(old) ?? 'unknown shape'}`)], [], 400);
  }
  const mounts = mountsAnnotationUpdate(pod, old, request, policy);
  const sandboxUser = sandboxUserUpdate(pod, old, policy);
  if (mounts === UNCHANGED && sandboxUser === UNCHANGED) return SKIPPED;
  const violations = [...(mounts === UNCHANGED ? [] : mounts), ...(sandboxUser === UNCHANGED ? [] : sandboxUser)];
  return hasViolations(violations) ? deny(violations) : allow();
}

const UNCHANGED = 'unchanged';

function changeOf(before: string | undefined, after: string | undefined): Change | typeof UNCHANGED {
  if (before === after) return UNCHANGED;
  return before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
}

function mountsAnnotationUpdate(pod: CheckedPod, old: CheckedPod, request: AdmissionRequest, policy: CompiledPolicy): readonly Violation[] | typeof UNCHANGED {
  const change = changeOf(annotationValue(old, policy.annotation), annotationValue(pod, policy.annotation));
  if (change === UNCHANGED) return UNCHANGED;
  const disagreements = annotationDisagreements(pod, policy, request, requestFillings(pod, policy, request));
  if (disagreements.length === 0) return [];
  return [violation('annotation-fixed-at-creation', annotationField(policy), `was ${change} by an update, but ${FIXED}: ${ADVICE[change]}`), ...disagreements];
}

function sandboxUserUpdate(pod: CheckedPod, old: CheckedPod, policy: CompiledPolicy): readonly Violation[] | typeof UNCHANGED {
  const key = policy.sandboxUserAnnotation;
  const change = changeOf(annotationValue(old, key), annotationValue(pod, key));
  if (change === UNCHANGED) return UNCHANGED;
  // Volumes cannot change in an update; both objects are read so that neither can hide one.
  if (!hasHostPathVolume(old) && !hasHostPathVolume(pod)) return [];
  return [violation('annotation-fixed-at-creation', sandboxUserField(policy), `was ${change} by an update, but the Pod has hostPath volumes and ${USER_FIXED}: ${ADVICE[change]}`)];
}

/**
 * At a Pod's creation: the sandbox-user annotation of a Pod with hostPath volumes must come from a trusted
 * provisioner. `kubectl debug` by one fills {sandboxUser} from it later, so a value written by anyone else
 * would choose whose directories a trusted debug mounts.
 */
export function sandboxUserAtCreation(pod: CheckedPod, policy: CompiledPolicy, request: RequestContext): Violation | undefined {
  if (annotationValue(pod, policy.sandboxUserAnnotation) === undefined || !hasHostPathVolume(pod)) return undefined;
  if (listsRequester(policy.trustedProvisioners, request.userInfo)) return undefined;
  const why = policy.trustedProvisioners.size === 0 ? 'trustedProvisioners is empty' : `${describeRequester(request.userInfo)} is not in trustedProvisioners`;
  return violation('sandbox-user-not-trusted', sandboxUserField(policy), `names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and ${why}`);
}

function sandboxUserField(policy: CompiledPolicy): string {
  return `metadata.annotations[${policy.sandboxUserAnnotation}]`;
}

/**
 * A Binding (pods/binding, or the bindings resource) copies its annotations
 * onto the Pod it binds; one that sets the policy annotation or the
 * sandbox-user annotation is refused, whatever the value: both were settled at
 * the Pod's creation.
 */
export function judgeBinding(request: AdmissionRequest, policy: CompiledPolicy): Verdict {
  const binding = request.object;
  if (!isAnnotated(binding)) {
    return deny([violation('unreadable-pod', 'request.object', 'is not a readable Binding: its metadata.annotations must be an object of strings')], [], 400);
  }
  const violations: Violation[] = [];
  if (annotationValue(binding, policy.annotation) !== undefined) {
    violations.push(violation('annotation-fixed-at-creation', annotationField(policy), `is set by a Binding, but ${FIXED}: a Binding may not set it`));
  }
  if (annotationValue(binding, policy.sandboxUserAnnotation) !== undefined) {
    violations.push(violation('annotation-fixed-at-creation', sandboxUserField(policy), `is set by a Binding, but ${USER_FIXED}: a Binding may not set it`));
  }
  return hasViolations(violations) ? deny(violations) : SKIPPED;
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
      violation('injection-mismatch', `spec.volumes[${index}]`, `volume "${volume.name}" mounts ${quoted(hostPath.path)} from the host, but no annotation asks for it`),
    );
  });
  unrequested.close((count) => violation('injection-mismatch', 'spec.volumes', `${count} more mountgate volumes that no annotation asks for`));
  return violations;
}
