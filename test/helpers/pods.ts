/** Pods and admission requests for tests. Requests go through the real review reader. */
import { createHash } from 'node:crypto';
import { readAdmissionReview, type AdmissionRequest } from '../../src/admission/review.js';

export const ANNOTATION = 'mountgate.io/mounts';
export const FIELD = `metadata.annotations[${ANNOTATION}]`;

export interface PodOptions {
  /** The annotation value; an array is JSON-encoded, a string is used as written. */
  readonly mounts?: unknown[] | string;
  readonly containers?: unknown[];
  readonly initContainers?: unknown[];
  readonly volumes?: unknown[];
}

/** A deer-flow style sandbox Pod: one `sandbox` container with the built-in skills mount. */
export function sandboxPod(options: PodOptions = {}): Record<string, unknown> {
  const annotations =
    options.mounts === undefined
      ? undefined
      : { [ANNOTATION]: typeof options.mounts === 'string' ? options.mounts : JSON.stringify(options.mounts) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sandbox-1', namespace: 'agents', ...(annotations ? { annotations } : {}) },
    spec: {
      containers: options.containers ?? [
        { name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }] },
      ],
      ...(options.initContainers ? { initContainers: options.initContainers } : {}),
      volumes: options.volumes ?? [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }],
    },
  };
}

export interface RequestOptions {
  readonly operation?: string;
  readonly subResource?: string;
  readonly resource?: string;
  readonly group?: string;
  readonly username?: string;
  readonly groups?: string[];
  readonly dryRun?: boolean;
  /** The request's namespace (default "agents"). */
  readonly namespace?: string;
  /** The object before an UPDATE. */
  readonly oldObject?: unknown;
}

export function review(object: unknown, options: RequestOptions = {}): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '3f1c2f2e-1111-4a4a-9b9b-000000000001',
      kind: { group: options.group ?? '', version: 'v1', kind: options.resource === 'pods' || options.resource === undefined ? 'Pod' : 'Other' },
      resource: { group: options.group ?? '', version: 'v1', resource: options.resource ?? 'pods' },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      operation: options.operation ?? 'CREATE',
      namespace: options.namespace ?? 'agents',
      userInfo: { username: options.username ?? 'system:serviceaccount:deer-flow:provisioner', groups: options.groups ?? ['system:serviceaccounts'] },
      object,
      ...(options.oldObject === undefined ? {} : { oldObject: options.oldObject }),
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
    },
  };
}

export function requestFor(object: unknown, options: RequestOptions = {}): AdmissionRequest {
  const read = readAdmissionReview(review(object, options));
  if (!read.ok) throw new Error(`test review is malformed: ${read.problems.join('; ')}`);
  return read.request;
}

/** Computed independently of the code under test. */
export function expectedVolumeName(hostPath: string): string {
  return `mountgate-${createHash('sha256').update(hostPath, 'utf8').digest('hex').slice(0, 12)}`;
}
