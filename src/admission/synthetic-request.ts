/**
 * AdmissionRequests for a Pod CREATE or UPDATE built from manifests, for
 * judging a Pod outside the API server (`check`, `audit`). They go through the
 * same reader as a real review.
 */
import { ADMISSION_API_VERSION, readAdmissionReview, type AdmissionRequest, type UserInfo } from './review.js';

/** metadata.namespace of a manifest, when it is a string. */
export function manifestNamespace(pod: unknown): string | undefined {
  const metadata = typeof pod === 'object' && pod !== null && 'metadata' in pod ? pod.metadata : undefined;
  const namespace = typeof metadata === 'object' && metadata !== null && 'namespace' in metadata ? metadata.namespace : undefined;
  return typeof namespace === 'string' ? namespace : undefined;
}

/** The request's namespace is `namespace` when given, else the manifest's. */
export function podCreateRequest(pod: unknown, userInfo: UserInfo, uid: string, namespace = manifestNamespace(pod)): AdmissionRequest {
  return podRequest('CREATE', pod, undefined, userInfo, uid, namespace);
}

/** An UPDATE of the Pod itself, from `old` to `pod`; the namespace as for a CREATE. */
export function podUpdateRequest(pod: unknown, old: unknown, userInfo: UserInfo, uid: string, namespace = manifestNamespace(pod)): AdmissionRequest {
  return podRequest('UPDATE', pod, old, userInfo, uid, namespace);
}

/** An UPDATE of pods/ephemeralcontainers (how `kubectl debug` adds a container), from `old` to `pod`; the namespace as for a CREATE. */
export function ephemeralContainersUpdateRequest(pod: unknown, old: unknown, userInfo: UserInfo, uid: string, namespace = manifestNamespace(pod)): AdmissionRequest {
  return podRequest('UPDATE', pod, old, userInfo, uid, namespace, 'ephemeralcontainers');
}

function podRequest(
  operation: 'CREATE' | 'UPDATE',
  pod: unknown,
  old: unknown,
  userInfo: UserInfo,
  uid: string,
  namespace: string | undefined,
  subResource?: 'ephemeralcontainers',
): AdmissionRequest {
  const review = readAdmissionReview({
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation,
      ...(subResource === undefined ? {} : { subResource }),
      ...(namespace === undefined ? {} : { namespace }),
      userInfo,
      object: pod,
      ...(operation === 'UPDATE' ? { oldObject: old } : {}),
      dryRun: true,
    },
  });
  if (!review.ok) throw new Error(`internal: a synthetic review is malformed: ${review.problems.join('; ')}`);
  return review.request;
}
