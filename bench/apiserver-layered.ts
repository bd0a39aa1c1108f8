/**
 * mountgate for the API-server section as the chart installs it with
 * mountPolicies.enabled: the chart's MountPolicy CRD, `serve
 * --pod-security-preflight --mount-policies` with the image's environment
 * (NODE_ENV, NODE_OPTIONS, MALLOC_ARENA_MAX; plus bench/preload/time-answer-write.mjs), the chart's webhook configurations (the MountPolicy webhook
 * included) pointed at it in place of the e2e environment's mountgate, and one
 * more namespace whose MountPolicy narrows the cluster policy while still
 * admitting the benchmark Pod (the "bench the layered policy too").
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { waitUntil } from '../test/e2e/agent-sandbox-env.js';
import { apiError, ignoreNotFound, uniqueName, ENABLED_LABEL, type E2E } from '../test/e2e/env.js';
import { findHelm, fromChart, mountPolicyCrd, type WebhookConfigurations } from '../test/e2e/webhooks.js';
import { MOUNT_POLICY_GROUP as GROUP, MOUNT_POLICY_RESOURCE as PLURAL, MOUNT_POLICY_VERSION as VERSION } from '../src/policy/mount-policy.js';
import { reviewsAnswered } from './apiserver-metrics.js';
import { removeAnswerWriteTimes, WRITE_TIMES_PRELOAD } from './apiserver-write-times.js';
import { startMountgate, type ServerProcess } from './processes.js';

const execFileAsync = promisify(execFile);
const READY_MS = 60_000;
/** mountgate logs to DIR/NAME.log (bench/processes.ts). */
const LOG_NAME = 'mountgate-layered';

/**
 * Narrower than test/e2e/policy.yaml in every key it sets (one thread's workspace instead of every
 * workspace, one model and one dataset, a reserved target, maxMounts 5 instead of 10), yet it admits
 * the benchmark Pod: its three requested mounts (bench/fixtures.ts THREE_MOUNTS) and the sandbox
 * Pod's own skills and user-data volumes, which a MountPolicy narrows too.
 */
export const BENCH_MOUNT_POLICY = {
  allowedHostPaths: [
    { pathPrefix: '/srv/sandbox/thread-7f3a9c' },
    { pathPrefix: '/srv/models/qwen2.5-7b', readOnly: true },
    { pathPrefix: '/srv/datasets/squad', readOnly: true },
    { pathPrefix: '/skills', readOnly: true },
    { pathPrefix: '/.deer-flow/threads' },
  ],
  reservedMountPaths: ['/workspace/secrets'],
  maxMounts: 5,
};

export interface LayeredMountgate {
  readonly server: ServerProcess;
  readonly metricsPort: number;
  readonly url: string;
  readonly logFile: string;
  /** The namespace with the MountPolicy (selected by the webhooks like env.enabledNs). */
  readonly namespace: string;
  readonly mutateWebhook: string;
  readonly validateWebhook: string;
  stop(): Promise<void>;
}

/** Replaces the e2e environment's mountgate (same webhook configuration names, so its tear-down removes them). */
export async function startLayeredMountgate(env: E2E, benchPod: (name: string) => V1Pod): Promise<LayeredMountgate> {
  const helm = await findHelm();
  if (helm === undefined) throw new Error('the API-server section renders the MountPolicy CRD and webhooks from the chart: it needs helm (scripts/install-helm.sh)');
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const { cp, core, admissionApi, tls, dir } = env;
    const extensions = cp.admin.makeApiClient(ApiextensionsV1Api);
    const crd = await mountPolicyCrd(helm);
    const crdName = crd.metadata?.name ?? '';
    // By kubectl, as in test/e2e/mount-policy.test.ts: the typed client would drop the schema's x-kubernetes-* keys.
    const crdFile = path.join(dir, 'bench-mountpolicy-crd.json');
    await writeFile(crdFile, JSON.stringify(crd));
    await execFileAsync(cp.kubectl, ['--kubeconfig', cp.kubeconfigPath, 'create', '-f', crdFile], { timeout: 60_000 });
    cleanups.push(() => ignoreNotFound(extensions.deleteCustomResourceDefinition({ name: crdName })));
    await waitUntil('the MountPolicy CRD to be established', READY_MS, async () => {
      const stored = await extensions.readCustomResourceDefinition({ name: crdName });
      return stored.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });

    const [namespace, leaseNs] = [uniqueName('mg-bench-layered'), uniqueName('mg-bench-lease')];
    for (const [name, labels] of [[namespace, { [ENABLED_LABEL]: 'true' }], [leaseNs, {}]] as const) {
      await core.createNamespace({ body: { metadata: { name, labels } } });
      cleanups.push(() => ignoreNotFound(core.deleteNamespace({ name })));
    }

    const server = await startMountgate(
      { dir, caCert: tls.caPem.toString('utf8'), certPath: tls.cert, keyPath: tls.key, policyPath: env.mountgate.options.policy, remove: async () => {} },
      LOG_NAME,
      { serveArgs: ['--pod-security-preflight', '--kubeconfig', cp.kubeconfigPath, '--mount-policies', '--lease-namespace', leaseNs, '--identity', 'mg-bench'], nodeOptions: WRITE_TIMES_PRELOAD, readyTimeoutMs: READY_MS },
    );
    cleanups.push(() => removeAnswerWriteTimes(server.pid));
    cleanups.push(() => server.stop());
    const metricsPort = server.metricsPort;
    if (metricsPort === undefined) throw new Error('mountgate started without a metrics port');
    const url = `https://127.0.0.1:${server.port}`;

    // The chart's configurations (release mountgate-e2e, as env.ts renders them, so the names match), with the MountPolicy webhook.
    const rendered = await fromChart(helm, { url, caBundle: tls.caPem.toString('base64'), dir }, { release: 'mountgate-e2e', args: ['--set', 'mountPolicies.enabled=true'] });
    await replaceWebhooks(env, rendered);
    await waitUntil('the API server to call the new mountgate', READY_MS, async () => {
      const count = (): Promise<number> => reviewsAnswered(metricsPort, 'mutate');
      const before = await count();
      await core.createNamespacedPod({ namespace: env.enabledNs, body: benchPod(uniqueName('probe')), dryRun: 'All' });
      return (await count()) > before ? true : undefined;
    });
    await env.mountgate.stop();

    const custom = cp.admin.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'MountPolicy', metadata: { name: 'tenant' }, spec: BENCH_MOUNT_POLICY },
    });
    // Ready status means mountgate's cache holds it; the refusal below proves it is enforced.
    await waitUntil('the MountPolicy to be Ready', READY_MS, async () => {
      const stored: unknown = await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name: 'tenant' });
      return JSON.stringify(stored).includes('"reason":"Enforced"') ? true : undefined;
    });
    const outside = benchPod(uniqueName('outside'));
    if (outside.metadata?.annotations !== undefined) {
      outside.metadata.annotations['mountgate.io/mounts'] = JSON.stringify([{ host_path: '/srv/sandbox/another-thread/workspace', container_path: '/mnt/workspace' }]);
    }
    const refused = await apiError(core.createNamespacedPod({ namespace, body: outside, dryRun: 'All' }));
    if (!refused.message.includes('MountPolicy')) throw new Error(`the MountPolicy did not narrow the cluster policy: ${refused.message}`);

    return {
      server,
      metricsPort,
      url,
      logFile: path.join(dir, `${LOG_NAME}.log`),
      namespace,
      mutateWebhook: rendered.mutateWebhookName,
      validateWebhook: rendered.validateWebhookName,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function replaceWebhooks(env: E2E, rendered: WebhookConfigurations): Promise<void> {
  const api = env.admissionApi;
  const mutatingName = rendered.mutating.metadata?.name ?? '';
  const validatingName = rendered.validating.metadata?.name ?? '';
  const mutating = await api.readMutatingWebhookConfiguration({ name: mutatingName });
  await api.replaceMutatingWebhookConfiguration({
    name: mutatingName,
    body: { ...rendered.mutating, metadata: { ...rendered.mutating.metadata, resourceVersion: mutating.metadata?.resourceVersion } },
  });
  const validating = await api.readValidatingWebhookConfiguration({ name: validatingName });
  await api.replaceValidatingWebhookConfiguration({
    name: validatingName,
    body: { ...rendered.validating, metadata: { ...rendered.validating.metadata, resourceVersion: validating.metadata?.resourceVersion } },
  });
}
