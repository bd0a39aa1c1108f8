/**
 * The facts the policy's placeholders are filled from, read from an admission
 * request: its namespace and requester (set by the API server) and the Pod's
 * sandbox-user annotation (honoured only for trusted provisioners).
 */
import type { CompiledPolicy } from '../policy/compile.js';
import { fillPlaceholders, type Fillings } from '../policy/match.js';
import type { CheckedPod } from './pod.js';
import type { AdmissionRequest } from './review.js';

/** The parts of an admission request the mount rules read. */
export type RequestContext = Pick<AdmissionRequest, 'namespace' | 'userInfo'>;

/** An annotation's value, own keys only: a key named like an Object.prototype member ("constructor") must not read the inherited function. */
export function ownAnnotation(pod: CheckedPod, key: string): string | undefined {
  const annotations = pod.metadata?.annotations;
  if (annotations === undefined || annotations === null || !Object.hasOwn(annotations, key)) return undefined;
  const value: unknown = annotations[key];
  return typeof value === 'string' ? value : undefined;
}

export function requestFillings(pod: CheckedPod, policy: CompiledPolicy, request: RequestContext): Fillings {
  return fillPlaceholders(policy, {
    namespace: request.namespace,
    requester: request.userInfo,
    sandboxUser: ownAnnotation(pod, policy.sandboxUserAnnotation),
  });
}
