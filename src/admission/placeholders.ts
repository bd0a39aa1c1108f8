/**
 * The facts the policy's placeholders are filled from, read from an admission
 * request: its namespace and requester (set by the API server) and the Pod's
 * sandbox-user annotation (honoured only for trusted provisioners).
 */
import type { CompiledPolicy, PathLists } from '../policy/compile.js';
import { fillPlaceholders, type Fillings } from '../policy/match.js';
import { annotationValue, type CheckedPod } from './pod.js';
import type { AdmissionRequest } from './review.js';

/** The parts of an admission request the mount rules read. */
export type RequestContext = Pick<AdmissionRequest, 'namespace' | 'userInfo'>;

/** What a policy without placeholders is given: it never reads them. */
const NOT_USED: Fillings = {
  namespace: { ok: false, why: 'the policy has no placeholders' },
  user: { ok: false, why: 'the policy has no placeholders' },
  sandboxUser: { ok: false, why: 'the policy has no placeholders' },
};

function fillsPlaceholders(layer: PathLists): boolean {
  return layer.placeholders;
}

export function requestFillings(pod: CheckedPod, policy: CompiledPolicy, request: RequestContext): Fillings {
  // Only a placeholder segment reads the fillings: a policy without one (`*` aside) pays nothing for them, as
  // filling them writes a reason for each value that is refused (a service account's username, on every request).
  if (!policy.placeholders && !policy.narrowing.some(fillsPlaceholders)) return NOT_USED;
  return fillPlaceholders(policy, {
    namespace: request.namespace,
    requester: request.userInfo,
    sandboxUser: annotationValue(pod, policy.sandboxUserAnnotation),
  });
}
