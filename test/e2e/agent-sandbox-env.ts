/**
 * agent-sandbox (sigs.k8s.io/agent-sandbox) as a second real caller: its controller, built from the
 * Go module proxy by tools/agent-sandbox.sh, runs out of cluster against the suite's API server as
 * its own ServiceAccount, with its CRDs (applied server-side, as its install does) and RBAC; a
 * mountgate of its own judges its Pods, with examples/agent-sandbox-policy.yaml and webhook
 * configurations rendered from the chart with examples/agent-sandbox-values.yaml. The namespace it
 * works in is selected by those webhooks only (label mountgate.io/agent-sandbox-e2e), so the suite's
 * other mountgate never sees it.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { backstop, DEFAULT_BACKSTOP_OPTIONS } from '../../src/backstop/policy.js';
import { parsePolicy } from '../../src/policy/load.js';
import { REPO_ROOT } from './controlplane.js';
import { ignoreNotFound, uniqueName, type E2E } from './env.js';
import { MountgateProcess } from './mountgate-process.js';
import { Cleanups, freePort, sleep, startProc, waitFor } from './processes.js';
import { findHelm, fromChart } from './webhooks.js';

const execFileAsync = promisify(execFile);

export const AGENT_SANDBOX_VERSION = 'v1.0.1';
const BUILD_SCRIPT = path.join(REPO_ROOT, 'test', 'e2e', 'tools', 'agent-sandbox.sh');
const BUILD_TIMEOUT_MS = 40 * 60_000;
export const POLICY_FILE = path.join(REPO_ROOT, 'examples', 'agent-sandbox-policy.yaml');
export const VALUES_FILE = path.join(REPO_ROOT, 'examples', 'agent-sandbox-values.yaml');
/** Where the controller's own install puts it; examples/agent-sandbox-policy.yaml names this ServiceAccount. */
export const CONTROLLER_NAMESPACE = 'agent-sandbox-system';
export const CONTROLLER_ACCOUNT = 'agent-sandbox-controller';
export const CONTROLLER_USER = `system:serviceaccount:${CONTROLLER_NAMESPACE}:${CONTROLLER_ACCOUNT}`;
const SELECTOR_LABEL = 'mountgate.io/agent-sandbox-e2e';
const FIELD_MANAGER = 'mountgate-e2e';

export const CORE_GROUP = 'agents.x-k8s.io';
export const EXTENSIONS_GROUP = 'extensions.agents.x-k8s.io';
export const API_VERSION = 'v1beta1';

export interface AgentSandboxEnv {
  /** Namespace this suite's webhooks select; Sandboxes, claims, templates and warm pools live here. */
  readonly namespace: string;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly mountgate: MountgateProcess;
  /** The names the API server gives the mutating and the validating webhook in its errors. */
  readonly mutateWebhook: string;
  readonly validateWebhook: string;
  /** The backstop's ValidatingAdmissionPolicy (and binding): the API server runs it after the mutating webhook, before the validating one. */
  readonly backstop: string;
  readonly controllerLog: string;
  /** Stops the controller and mountgate and removes what was created; safe to call twice. */
  stop(): Promise<void>;
}

/** The folder tools/agent-sandbox.sh prints: the controller binary, crds/, and the RBAC files. */
async function controllerFolder(): Promise<string> {
  const { stdout } = await execFileAsync('bash', [BUILD_SCRIPT], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  const lines = stdout.trim().split('\n');
  const dir = lines[lines.length - 1];
  if (dir === undefined || dir === '') throw new Error(`${BUILD_SCRIPT} printed no folder: ${stdout}`);
  return dir;
}

async function manifests(file: string): Promise<KubernetesObject[]> {
  return parseAllDocuments(await readFile(file, 'utf8'))
    .map((doc) => doc.toJS() as unknown)
    .filter((doc): doc is KubernetesObject => typeof doc === 'object' && doc !== null && 'kind' in doc);
}

/** `kubectl apply --server-side --force-conflicts`: two of the CRDs are too large for a client-side apply. */
async function applyServerSide(objects: KubernetesObjectApi, items: readonly KubernetesObject[]): Promise<void> {
  for (const item of items) await objects.patch(item, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, explain: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s${last === '' ? '' : ` (last error: ${last})`}${explain()}`);
}

/** A kubeconfig that authenticates as the controller's ServiceAccount (a TokenRequest), against the admin's cluster. */
async function controllerKubeconfig(e2e: E2E, core: CoreV1Api, file: string): Promise<void> {
  const request = await core.createNamespacedServiceAccountToken({
    name: CONTROLLER_ACCOUNT,
    namespace: CONTROLLER_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 4 * 3600 } },
  });
  const token = request.status?.token;
  const cluster = e2e.cp.admin.getCurrentCluster();
  if (token === undefined || cluster === null) throw new Error('no ServiceAccount token, or no current cluster in the admin kubeconfig');
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ ...cluster, name: 'e2e' }],
    users: [{ name: CONTROLLER_ACCOUNT, token }],
    contexts: [{ name: 'controller', cluster: 'e2e', user: CONTROLLER_ACCOUNT }],
    currentContext: 'controller',
  });
  await writeFile(file, config.exportConfig(), { mode: 0o600 });
}

export async function startAgentSandbox(e2e: E2E): Promise<AgentSandboxEnv> {
  const cleanups = new Cleanups('agent-sandbox tear-down');
  const stop = (): Promise<void> => cleanups.run();
  try {
    const admin = e2e.cp.admin;
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const objects = KubernetesObjectApi.makeApiClient(admin);
    const dir = path.join(e2e.dir, 'agent-sandbox');
    await mkdir(dir, { recursive: true });
    const folder = await controllerFolder();

    // CRDs, server-side, then established.
    const crdFiles = readdirSync(path.join(folder, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
    const crds = (await Promise.all(crdFiles.map((f) => manifests(path.join(folder, 'crds', f))))).flat();
    await applyServerSide(objects, crds);
    const apiextensions = admin.makeApiClient(ApiextensionsV1Api);
    for (const crd of crds) {
      const name = crd.metadata?.name ?? '';
      await waitUntil(`CRD ${name} established`, 60_000, async () => {
        const read = await apiextensions.readCustomResourceDefinition({ name });
        return read.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? true : undefined;
      });
      if (e2e.cp.existing) cleanups.push(() => ignoreNotFound(apiextensions.deleteCustomResourceDefinition({ name })));
    }

    // RBAC as its install gives it: two ClusterRoles, bound to its ServiceAccount.
    const roles = [...(await manifests(path.join(folder, 'rbac.generated.yaml'))), ...(await manifests(path.join(folder, 'extensions-rbac.generated.yaml')))];
    await applyServerSide(objects, roles);
    try {
      await core.createNamespace({ body: { metadata: { name: CONTROLLER_NAMESPACE } } });
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 409)) throw error;
    }
    await applyServerSide(objects, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CONTROLLER_ACCOUNT, namespace: CONTROLLER_NAMESPACE } },
      ...roles.map((role) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: role.metadata?.name ?? '' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata?.name ?? '' },
        subjects: [{ kind: 'ServiceAccount', name: CONTROLLER_ACCOUNT, namespace: CONTROLLER_NAMESPACE }],
      })),
    ]);
    if (e2e.cp.existing) {
      cleanups.push(async () => {
        for (const role of roles) {
          const name = role.metadata?.name ?? '';
          await ignoreNotFound(rbac.deleteClusterRoleBinding({ name }));
          await ignoreNotFound(rbac.deleteClusterRole({ name }));
        }
        await ignoreNotFound(core.deleteNamespace({ name: CONTROLLER_NAMESPACE }));
      });
    }

    // mountgate with the example policy (a copy, which a test may change and restore), and the chart's webhooks with the example values.
    const policy = path.join(dir, 'agent-sandbox-policy.yaml');
    await copyFile(POLICY_FILE, policy);
    const mountgate = new MountgateProcess({ dir, policy, tls: e2e.tls, port: await freePort(), metricsPort: await freePort() });
    await mountgate.start();
    cleanups.push(() => mountgate.stop());
    const helm = await findHelm();
    if (helm === undefined) throw new Error('the agent-sandbox tests render the chart with examples/agent-sandbox-values.yaml: helm is required (scripts/install-helm.sh)');
    const rendered = await fromChart(helm, { url: mountgate.url, caBundle: e2e.tls.caPem.toString('base64'), dir }, {
      release: 'mountgate-agent-sandbox-e2e',
      args: ['--values', VALUES_FILE, '--set-json', `webhook.namespaceSelector={"matchLabels":{"${SELECTOR_LABEL}":"true"}}`],
    });
    const admission = e2e.admissionApi;
    cleanups.push(async () => {
      await ignoreNotFound(admission.deleteMutatingWebhookConfiguration({ name: rendered.mutating.metadata?.name ?? '' }));
      await ignoreNotFound(admission.deleteValidatingWebhookConfiguration({ name: rendered.validating.metadata?.name ?? '' }));
    });
    await admission.createMutatingWebhookConfiguration({ body: rendered.mutating });
    await admission.createValidatingWebhookConfiguration({ body: rendered.validating });
    // The backstop the chart installs beside them (the same objects as `mountgate backstop`, test/chart checks it), bound
    // to the same namespaces: the controller's Pods meet it too, with handWrittenHostPaths: builtin as the profile sets it.
    const backstopObjects = backstop(parsePolicy(await readFile(POLICY_FILE, 'utf8'), POLICY_FILE), {
      ...DEFAULT_BACKSTOP_OPTIONS,
      name: 'mountgate-agent-sandbox-e2e-backstop',
      namespaceSelector: { matchLabels: { [SELECTOR_LABEL]: 'true' } },
    });
    const backstopName = backstopObjects.policy.metadata?.name ?? '';
    cleanups.push(async () => {
      await ignoreNotFound(admission.deleteValidatingAdmissionPolicyBinding({ name: backstopName }));
      await ignoreNotFound(admission.deleteValidatingAdmissionPolicy({ name: backstopName }));
    });
    await admission.createValidatingAdmissionPolicy({ body: backstopObjects.policy });
    await admission.createValidatingAdmissionPolicyBinding({ body: backstopObjects.binding });

    const namespace = uniqueName('mg-e2e-agent-sandbox');
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { [SELECTOR_LABEL]: 'true' } } } });
    cleanups.push(() => ignoreNotFound(core.deleteNamespace({ name: namespace })));
    /** True once a dry-run create of `body` here is refused with a message that includes `marker`. */
    const refusedWith = (body: V1Pod, marker: string) => async (): Promise<true | undefined> => {
      try {
        await core.createNamespacedPod({ namespace, dryRun: 'All', body });
      } catch (error) {
        return String(error).includes(marker) ? true : undefined;
      }
      return undefined;
    };
    // In force once a dry-run Pod with mounts is judged by this mountgate (the admin is no requester here).
    const asking: V1Pod = {
      metadata: { name: 'probe', annotations: { 'mountgate.io/mounts': '[{"hostPath":"/srv/agents/models","mountPath":"/m"}]' } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    };
    await waitUntil('the agent-sandbox webhooks in force', 60_000, refusedWith(asking, 'may not request host mounts'));
    // The backstop in force: a hostPath volume written by hand under allowedHostPaths passes /mutate, and the backstop refuses it.
    const handWritten: V1Pod = {
      metadata: { name: 'probe' },
      spec: { containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'w', hostPath: { path: '/srv/agents/workspaces/probe', type: 'Directory' } }] },
    };
    await waitUntil('the backstop in force', 60_000, refusedWith(handWritten, `ValidatingAdmissionPolicy '${backstopName}'`));

    // The controller, out of cluster, as its ServiceAccount.
    const kubeconfig = path.join(dir, 'controller.kubeconfig');
    await controllerKubeconfig(e2e, core, kubeconfig);
    const healthPort = await freePort();
    const controller = await startProc(dir, 'agent-sandbox-controller', path.join(folder, 'agent-sandbox-controller'), [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      `--metrics-bind-address=127.0.0.1:${await freePort()}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      '--extensions',
    ]);
    cleanups.push(() => controller.stop());
    await waitFor('the agent-sandbox controller /readyz', [controller], 60_000, async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok);

    return {
      namespace,
      core,
      custom: admin.makeApiClient(CustomObjectsApi),
      mountgate,
      mutateWebhook: rendered.mutateWebhookName,
      validateWebhook: rendered.validateWebhookName,
      backstop: backstopName,
      controllerLog: controller.logFile,
      stop,
    };
  } catch (error) {
    return await cleanups.abandon('agent-sandbox set-up', error);
  }
}
