/**
 * AdmissionRequests for a Pod CREATE or UPDATE built from manifests, for
 * judging a Pod outside the API server (`check`, `audit`). They go through the
 * same reader as a real review.
 */
import { ADMISSION_API_VERSION, readAdmissionReview, type AdmissionRequest, type UserInfo } from './review.js';

export function podCreateRequest(pod: unknown, userInfo: UserInfo, uid: string): AdmissionRequest {
  return podRequest('CREATE', pod, undefined, userInfo, uid);
}

/** An UPDATE of the Pod itself, from `old` to `pod`. */
export function podUpdateRequest(pod: unknown, old: unknown, userInfo: UserInfo, uid: string): AdmissionRequest {
  return podRequest('UPDATE', pod, old, userInfo, uid);
}

function podRequest(operation: 'CREATE' | 'UPDATE', pod: unknown, old: unknown, userInfo: UserInfo, uid: string): AdmissionRequest {
  const metadata = typeof pod === 'object' && pod !== null && 'metadata' in pod ? pod.metadata : undefined;
  const namespace = typeof metadata === 'object' && metadata !== null && 'namespace' in metadata ? metadata.namespace : undefined;
  const review = readAdmissionReview({
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation,
      ...(typeof namespace === 'string' ? { namespace } : {}),
      userInfo,
      object: pod,
      ...(operation === 'UPDATE' ? { oldObject: old } : {}),
      dryRun: true,
    },
  });
  if (!review.ok) throw new Error(`internal: a synthetic review is malformed: ${review.problems.join('; ')}`);
  return review.request;
}
