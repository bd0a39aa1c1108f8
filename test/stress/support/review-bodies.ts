/** AdmissionReview bodies for the load process, built with the shared Pod helpers. */
import { review, sandboxPod, type RequestOptions } from '../../helpers/pods.js';
import { UID_PLACEHOLDER, type LoadBody } from './load-plan.js';

export function loadBody(kind: string, path: '/mutate' | '/validate', object: unknown, options: RequestOptions = {}): LoadBody {
  const built = review(object, options) as { request: Record<string, unknown> };
  return { kind, path, body: JSON.stringify({ ...built, request: { ...built.request, uid: UID_PLACEHOLDER } }) };
}

/** A sandbox Pod asking for one mount of `hostPath`. */
export function asking(hostPath: string, readOnly?: boolean): Record<string, unknown> {
  return sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/work', ...(readOnly === undefined ? {} : { readOnly }) }] });
}

/** A sandbox Pod that carries a hand-written read-write hostPath volume of `hostPath` (what /validate judges). */
export function carrying(hostPath: string): Record<string, unknown> {
  return sandboxPod({
    containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'own', mountPath: '/mnt/own' }] }],
    volumes: [{ name: 'own', hostPath: { path: hostPath, type: 'Directory' } }],
  });
}
