/**
 * The end-to-end environment shared by every test file: a real control plane, a running mountgate,
 * its webhook configurations registered with the API server, and two namespaces — one selected by
 * the webhooks (label mountgate.io/enabled=true) and one excluded.
 *
 * test/e2e/hooks.ts builds it once (mocha root hooks) and tears it down at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AdmissionregistrationV1Api,
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { REPO_ROOT, TEST_USERS, freePort, sleep, startControlPlane, type ControlPlane } from './controlplane.js';
import { MountgateProcess, makeTestCa, type TlsMaterial } from './mountgate-process.js';
import { Cleanups } from './processes.js';
import { webhookConfigurations, type WebhookSource } from './webhooks.js';

export const ANNOTATION = 'mountgate.io/mounts';
export const ENABLED_LABEL = 'mountgate.io/enabled';
/** The shipped deer-flow profile (deer-flow.test.ts runs it with a mountgate of its own). */
export const EXAMPLE_POLICY = path.join(REPO_ROOT, 'examples', 'deer-flow-policy.yaml');
/** The policy of the shared environment, with requesters set (see makePolicy). */
export const SUITE_POLICY = path.join(REPO_ROOT, 'test', 'e2e', 'policy.yaml');

export interface E2E {
  readonly cp: ControlPlane;
  readonly core: CoreV1Api;
  readonly admissionApi: AdmissionregistrationV1Api;
  readonly mountgate: MountgateProcess;
  readonly tls: TlsMaterial;
  readonly dir: string;
  /** Namespace the webhooks select. */
  readonly enabledNs: string;
  /** Namespace the webhooks do not select. */
  readonly excludedNs: string;
  /** Where the webhook configurations came from. */
  readonly webhookSource: WebhookSource;
  /** The names of the two webhooks, as the API server quotes them in its errors. */
  readonly mutateWebhook: string;
  readonly validateWebhook: string;
  /**
   * False when the mutating webhook has matchConditions (the chart sends it only Pods that carry
   * the annotation); the validating webhook always sees every Pod.
   */
  readonly mutateSeesEveryPod: boolean;
  /** The mutating webhook's timeoutSeconds (the API server appends ?timeout=Ns to the URL). */
  readonly mutateTimeoutSeconds: number;
  /** The user name the admin client authenticates as. */
  readonly adminName: string;
  /** A CoreV1Api that acts as one of TEST_USERS. */
  coreAs(user: (typeof TEST_USERS)[keyof typeof TEST_USERS]): CoreV1Api;
}

/** A fresh DNS-1123 name with a prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The API server's Status for a failed call (client-node gives the body as a JSON string). */
export interface ApiStatus {
  readonly code: number;
  readonly message: string;
  readonly reason?: string;
}

export async function apiError(call: Promise<unknown>): Promise<ApiStatus> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    if (typeof body !== 'object' || body === null || !('message' in body) || typeof body.message !== 'string') {
      throw new Error(`API error ${error.code} without a Status body: ${String(error.body)}`);
    }
    const reason = 'reason' in body && typeof body.reason === 'string' ? body.reason : undefined;
    return reason === undefined ? { code: error.code, message: body.message } : { code: error.code, message: body.message, reason };
  }
  throw new Error('the API call succeeded, but it should have been refused');
}

/** True when the object is absent (404). */
export async function isNotFound(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return false;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return true;
    throw error;
  }
}

/** Awaits call; a 404 is fine. */
export async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw error;
  }
}

/** Deletes a Pod at once (no kubelet runs, so grace periods mean nothing here); ignores 404. */
export async function deletePod(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  await ignoreNotFound(core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
}

/**
 * The suite's policy with `requesters` filled in, so that the requester rule can be
 * tested: the admin (whoever that is on this cluster), alice by name, carol by group; not bob.
 * The admin and carol's group are trusted provisioners too (they may name a Pod's sandbox user).
 */
async function makePolicy(dir: string, adminName: string): Promise<string> {
  const policy: unknown = parseYaml(await readFile(SUITE_POLICY, 'utf8'));
  if (typeof policy !== 'object' || policy === null) throw new Error(`${SUITE_POLICY} is not a mapping`);
  const file = path.join(dir, 'policy.yaml');
  await writeFile(
    file,
    stringifyYaml({ ...policy, requesters: [adminName, 'alice', 'group:deer-flow-provisioners'], trustedProvisioners: [adminName, 'group:deer-flow-provisioners'] }),
  );
  return file;
}

/**
 * A sandbox Pod in the shape of the suite's policy (container `sandbox`, built-in `skills` and
 * `user-data` hostPath volumes), plus an optional annotation value. deer-flow's own Pods are built
 * in deer-flow-pods.ts.
 */
export function sandboxPod(name: string, annotation?: unknown, labels: Record<string, string> = {}): V1Pod {
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'deer-flow-sandbox', ...labels } },
    spec: {
      containers: [
        {
          name: 'sandbox',
          image: 'enterprise-public-cn-beijing.cr.volces.com/vefaas-public/all-in-one-sandbox:latest',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          volumeMounts: [
            { name: 'skills', mountPath: '/mnt/skills', readOnly: true },
            { name: 'user-data', mountPath: '/mnt/user-data' },
          ],
        },
      ],
      volumes: [
        { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
        { name: 'user-data', hostPath: { path: `/.deer-flow/threads/${name}/user-data`, type: 'DirectoryOrCreate' } },
      ],
      restartPolicy: 'Always',
    },
  };
  if (annotation !== undefined && pod.metadata !== undefined) {
    pod.metadata.annotations = { [ANNOTATION]: typeof annotation === 'string' ? annotation : JSON.stringify(annotation) };
  }
  return pod;
}

/**
 * Waits until the API server calls both webhooks: a dry-run create of an annotated Pod makes
 * mountgate's request counters for /mutate and /validate go up. (Whatever mountgate answers: the
 * tests judge the answers.)
 */
export async function waitForWebhooks(
  core: CoreV1Api,
  namespace: string,
  mountgate: MountgateProcess,
  probePod: (name: string) => V1Pod = (name) => sandboxPod(name, [{ hostPath: '/srv/sandbox/probe', mountPath: '/mnt/probe' }]),
): Promise<void> {
  const deadline = Date.now() + 60_000;
  const count = (endpoint: string): Promise<number> => mountgate.metric('mountgate_admission_requests_total', { endpoint });
  let last = '';
  for (let attempt = 0; attempt < 300 && Date.now() < deadline; attempt++) {
    const [mutateBefore, validateBefore] = [await count('mutate'), await count('validate')];
    let answer = 'admitted';
    try {
      await core.createNamespacedPod({ namespace, body: probePod(uniqueName('probe')), dryRun: 'All' });
    } catch (error) {
      answer = error instanceof Error ? error.message : String(error);
    }
    const [mutateCalls, validateCalls] = [(await count('mutate')) - mutateBefore, (await count('validate')) - validateBefore];
    if (mutateCalls > 0 && validateCalls > 0) return;
    last = `mutate calls ${mutateCalls}, validate calls ${validateCalls}; the probe: ${answer}`;
    await sleep(200);
  }
  throw new Error(`the webhooks did not take effect within 60 s (${last})`);
}

/**
 * The test users may work with Pods in the namespace. (A Role of our own: the built-in "edit"
 * ClusterRole is aggregated by kube-controller-manager, which does not run here.)
 */
export async function grantPodAccess(rbac: RbacAuthorizationV1Api, namespace: string): Promise<void> {
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'mountgate-e2e-pods' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'delete'] },
        { apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['get', 'patch', 'update'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'mountgate-e2e-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mountgate-e2e-pods' },
      subjects: Object.values(TEST_USERS).map((u) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u.name })),
    },
  });
}

/** Who the control plane's admin kubeconfig is, as the API server names it in userInfo (a SelfSubjectReview). */
export async function adminUsername(cp: Pick<ControlPlane, 'admin'>): Promise<string> {
  const review = await cp.admin.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const username = review.status?.userInfo?.username;
  if (username === undefined) throw new Error('SelfSubjectReview returned no username');
  return username;
}

export async function setUp(): Promise<{ env: E2E; tearDown: () => Promise<void> }> {
  const cleanups = new Cleanups('e2e tear-down');
  const tearDown = (): Promise<void> => cleanups.run();
  try {
    const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const cp = await startControlPlane();
    cleanups.push(() => cp.stop());
    const core = cp.admin.makeApiClient(CoreV1Api);
    const admissionApi = cp.admin.makeApiClient(AdmissionregistrationV1Api);
    const rbac = cp.admin.makeApiClient(RbacAuthorizationV1Api);

    const adminName = await adminUsername(cp);

    const tls = await makeTestCa(dir);
    const policy = await makePolicy(dir, adminName);
    // With the Pod Security preflight on, as the chart can run it; it reads namespaces as the admin.
    const mountgate = new MountgateProcess({
      dir,
      policy,
      tls,
      port: await freePort(),
      metricsPort: await freePort(),
      extraArgs: ['--pod-security-preflight', '--kubeconfig', cp.kubeconfigPath],
    });
    await mountgate.start();
    cleanups.push(() => mountgate.stop());

    const enabledNs = uniqueName('mg-e2e-enabled');
    const excludedNs = uniqueName('mg-e2e-excluded');
    await core.createNamespace({ body: { metadata: { name: enabledNs, labels: { [ENABLED_LABEL]: 'true' } } } });
    await core.createNamespace({ body: { metadata: { name: excludedNs } } });
    cleanups.push(async () => {
      // Without a namespace controller (local control plane) the namespaces stay Terminating;
      // the whole etcd goes away anyway. On an existing cluster this removes everything.
      for (const name of [enabledNs, excludedNs]) await core.deleteNamespace({ name });
    });
    for (const namespace of [enabledNs, excludedNs]) await grantPodAccess(rbac, namespace);

    const rendered = await webhookConfigurations({
      url: mountgate.url,
      caBundle: tls.caPem.toString('base64'),
      dir,
    });
    const configName = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? '';
    cleanups.push(async () => {
      await ignoreNotFound(admissionApi.deleteMutatingWebhookConfiguration({ name: configName(rendered.mutating) }));
      await ignoreNotFound(admissionApi.deleteValidatingWebhookConfiguration({ name: configName(rendered.validating) }));
    });
    await admissionApi.createMutatingWebhookConfiguration({ body: rendered.mutating });
    await admissionApi.createValidatingWebhookConfiguration({ body: rendered.validating });
    await waitForWebhooks(core, enabledNs, mountgate);

    const env: E2E = {
      cp,
      core,
      admissionApi,
      mountgate,
      tls,
      dir,
      enabledNs,
      excludedNs,
      webhookSource: rendered.source,
      mutateWebhook: rendered.mutateWebhookName,
      mutateSeesEveryPod: (rendered.mutating.webhooks?.[0]?.matchConditions ?? []).length === 0,
      mutateTimeoutSeconds: rendered.mutating.webhooks?.[0]?.timeoutSeconds ?? 10,
      validateWebhook: rendered.validateWebhookName,
      adminName,
      coreAs: (user) => cp.as(user).makeApiClient(CoreV1Api),
    };
    return { env, tearDown };
  } catch (error) {
    return await cleanups.abandon('e2e set-up', error);
  }
}
