/**
 * The AdmissionReviews the benchmark sends: a sandbox Pod of deer-flow's kind
 * as the API server hands it to a webhook (defaults filled in, managedFields,
 * the service-account token volume, a provisioner's userInfo), asking for three
 * mounts in the deer-flow spelling. It is illustrative, not the Pod deer-flow's
 * provisioner builds today (its name, labels, env, probes and securityContext
 * differ, and that provisioner sets no annotation): test/e2e/deer-flow-pods.ts
 * builds those. The benchmark keeps this one so that its runs stay comparable. Sized variants scale the Pod for the core
 * benchmark; a smaller one (~3 KB) leaves out managedFields, as a Pod created
 * without server-side field tracking of its own annotations looks.
 */
export const ANNOTATION = 'mountgate.io/mounts';
export const NAMESPACE = 'deer-flow';
const THREAD = 'thread-7f3a9c';
const USER = 'u-2b9e';

/** The three mounts the HTTP benchmark asks for: a read-write workspace, a model, a dataset. */
export const THREE_MOUNTS: readonly Record<string, unknown>[] = [
  { host_path: `/srv/sandbox/${THREAD}/workspace`, container_path: '/mnt/workspace', read_only: false },
  { host_path: '/srv/models/qwen2.5-7b', container_path: '/mnt/models' },
  { host_path: '/srv/datasets/squad', container_path: '/mnt/datasets', read_only: true },
];

/** `count` distinct mounts, alternating read-write workspaces and read-only datasets. */
export function manyMounts(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? { host_path: `/srv/sandbox/${THREAD}/dir-${i}`, container_path: `/mnt/work/dir-${i}` }
      : { host_path: `/srv/datasets/set-${i}`, container_path: `/mnt/data/set-${i}`, read_only: true },
  );
}

const TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

const TOKEN_VOLUME = {
  name: 'kube-api-access-x7k2p',
  projected: {
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
    defaultMode: 420,
  },
};

function sandboxContainer(): Record<string, unknown> {
  return {
    name: 'sandbox',
    image: 'enterprise-public-cn-beijing.cr.volces.com/vefaas-public/all-in-one-sandbox:latest',
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    env: [
      { name: 'DEER_FLOW_THREAD_ID', value: THREAD },
      { name: 'SANDBOX_HOME', value: '/mnt/user-data' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    ],
    resources: { limits: { cpu: '2', memory: '4Gi' }, requests: { cpu: '500m', memory: '1Gi' } },
    volumeMounts: [
      { name: 'skills-public', readOnly: true, mountPath: '/mnt/skills/public' },
      { name: 'skills-custom', readOnly: true, mountPath: '/mnt/skills/custom' },
      { name: 'skills-legacy', readOnly: true, mountPath: '/mnt/skills/legacy' },
      { name: 'user-data', mountPath: '/mnt/user-data' },
      { name: 'kube-api-access-x7k2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
    ],
    readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'Always',
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  };
}

/** A sidecar with one mount of its own, for the sized Pods. */
function sidecar(index: number): Record<string, unknown> {
  return {
    name: `sidecar-${index}`,
    image: 'busybox:1.36',
    volumeMounts: [{ name: `scratch-${index}`, mountPath: `/scratch/${index}` }],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
}

/** The two reviews of the HTTP benchmark: as the API server sends them, and without managedFields (~3 KB). */
export type PodShape = 'full' | 'no-managed-fields';

/** The Pod as it reaches a mutating webhook: after defaulting, before mountgate. */
export function sandboxPod(mounts: readonly unknown[], containerCount = 1, shape: PodShape = 'full'): Record<string, unknown> {
  const pod = fullSandboxPod(mounts, containerCount);
  if (shape === 'full') return pod;
  const { managedFields: _dropped, ...metadata } = pod.metadata;
  return { ...pod, metadata };
}

function fullSandboxPod(mounts: readonly unknown[], containerCount: number): Record<string, unknown> & { metadata: Record<string, unknown> } {
  const name = `deer-flow-sandbox-${THREAD.slice(-6)}`;
  const sidecars = Array.from({ length: containerCount - 1 }, (_, i) => sidecar(i + 1));
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace: NAMESPACE,
      labels: { app: 'deer-flow-sandbox', 'deer-flow.io/thread': THREAD, 'app.kubernetes.io/managed-by': 'deer-flow-provisioner' },
      annotations: { [ANNOTATION]: JSON.stringify(mounts) },
      managedFields: [
        {
          manager: 'deer-flow-provisioner',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2025-06-01T09:30:12Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:annotations': { '.': {}, [`f:${ANNOTATION}`]: {} }, 'f:labels': { '.': {}, 'f:app': {}, 'f:deer-flow.io/thread': {} } },
            'f:spec': {
              'f:containers': { 'k:{"name":"sandbox"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': {}, 'f:volumeMounts': {} } },
              'f:restartPolicy': {},
              'f:volumes': Object.fromEntries(
                ['skills-public', 'skills-custom', 'skills-legacy', 'user-data'].map((volume) => [`k:{"name":"${volume}"}`, { '.': {}, 'f:hostPath': {} }]),
              ),
            },
          },
        },
      ],
    },
    spec: {
      volumes: [
        { name: 'skills-public', hostPath: { path: '/.deer-flow/skills_view/public', type: 'Directory' } },
        { name: 'skills-custom', hostPath: { path: `/.deer-flow/users/${USER}/skills_view/custom`, type: 'Directory' } },
        { name: 'skills-legacy', hostPath: { path: `/.deer-flow/users/${USER}/skills_view/legacy`, type: 'Directory' } },
        { name: 'user-data', hostPath: { path: `/.deer-flow/threads/${THREAD}/user-data`, type: 'DirectoryOrCreate' } },
        TOKEN_VOLUME,
        ...sidecars.map((_, i) => ({ name: `scratch-${i + 1}`, emptyDir: {} })),
      ],
      containers: [sandboxContainer(), ...sidecars],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: TOLERATIONS,
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {},
  };
}

/** The envelope the API server wraps a Pod CREATE in. */
export function createReview(pod: unknown): Record<string, unknown> {
  const podKind = { group: '', version: 'v1', kind: 'Pod' };
  const podResource = { group: '', version: 'v1', resource: 'pods' };
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: '0d6f1b8e-3c1a-4b7e-9a55-6f0c2e9d4a17',
      kind: podKind,
      resource: podResource,
      requestKind: podKind,
      requestResource: podResource,
      name: `deer-flow-sandbox-${THREAD.slice(-6)}`,
      namespace: NAMESPACE,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:deer-flow:deer-flow-deer-flow-provisioner',
        uid: '8b1d4c1e-52a7-4d0f-8e0b-2f6a3c9d7e11',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:deer-flow', 'system:authenticated'],
        extra: {
          'authentication.kubernetes.io/credential-id': ['JTI=4f0c6a1e-2d3b-4c5d-8e9f-0a1b2c3d4e5f'],
          'authentication.kubernetes.io/node-name': ['worker-3'],
          'authentication.kubernetes.io/pod-name': ['deer-flow-provisioner-6c9f7d8b5-qx2lm'],
        },
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'deer-flow-provisioner' },
    },
  };
}
