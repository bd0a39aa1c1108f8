/**
 * mountgate on the shipped deer-flow profile (a copy of examples/deer-flow-policy.yaml, the Pod Security
 * preflight on) behind webhook configurations rendered from the chart with examples/deer-flow-values.yaml,
 * registered and seen to be called for a sandbox Pod of the provisioner. deer-flow.test.ts and the tool
 * that runs deer-flow's own provisioner (tools/deer-flow-provisioner.ts) both set it up this way.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { REPO_ROOT, freePort } from './controlplane.js';
import { deerFlowSandboxPod } from './deer-flow-pods.js';
import { ANNOTATION, EXAMPLE_POLICY, ignoreNotFound, waitForWebhooks } from './env.js';
import { MountgateProcess, type TlsMaterial } from './mountgate-process.js';
import type { Cleanups } from './processes.js';
import { fromChart, type WebhookConfigurations } from './webhooks.js';

export const DEER_FLOW_VALUES = path.join(REPO_ROOT, 'examples', 'deer-flow-values.yaml');

export interface DeerFlowMountgateOptions {
  /** Stops mountgate and deletes the webhook configurations. */
  readonly cleanups: Cleanups;
  /** A scratch folder: the policy's copy, mountgate's log, the rendered chart. */
  readonly dir: string;
  readonly helm: string;
  readonly tls: TlsMaterial;
  /** For the preflight's namespace watch. */
  readonly kubeconfigPath: string;
  readonly admission: AdmissionregistrationV1Api;
  /** The API as the provisioner, which creates the probe Pod. */
  readonly provisioner: CoreV1Api;
  readonly namespace: string;
  readonly release: string;
  /** Values beyond the example's, as helm arguments. */
  readonly helmArgs: readonly string[];
}

export interface DeerFlowMountgate {
  readonly mountgate: MountgateProcess;
  readonly webhooks: WebhookConfigurations;
}

export async function serveDeerFlowProfile(options: DeerFlowMountgateOptions): Promise<DeerFlowMountgate> {
  const { cleanups, dir, admission } = options;
  const policy = path.join(dir, 'deer-flow-policy.yaml');
  await copyFile(EXAMPLE_POLICY, policy);
  const mountgate = new MountgateProcess({
    dir,
    policy,
    tls: options.tls,
    port: await freePort(),
    metricsPort: await freePort(),
    extraArgs: ['--pod-security-preflight', '--kubeconfig', options.kubeconfigPath],
  });
  cleanups.push(() => mountgate.stop());
  await mountgate.start();

  const webhooks = await fromChart(
    options.helm,
    { url: mountgate.url, caBundle: options.tls.caPem.toString('base64'), dir },
    { release: options.release, args: ['--values', DEER_FLOW_VALUES, ...options.helmArgs] },
  );
  const names = { mutating: webhooks.mutating.metadata?.name ?? '', validating: webhooks.validating.metadata?.name ?? '' };
  cleanups.push(async () => {
    await ignoreNotFound(admission.deleteMutatingWebhookConfiguration({ name: names.mutating }));
    await ignoreNotFound(admission.deleteValidatingWebhookConfiguration({ name: names.validating }));
  });
  await admission.createMutatingWebhookConfiguration({ body: webhooks.mutating });
  await admission.createValidatingWebhookConfiguration({ body: webhooks.validating });
  // A sandbox Pod with a user's mount, as the provisioner: mutated, then validated.
  await waitForWebhooks(options.provisioner, options.namespace, mountgate, (name) => {
    const pod = deerFlowSandboxPod({ sandboxId: name });
    pod.metadata = { ...pod.metadata, annotations: { [ANNOTATION]: JSON.stringify([{ host_path: '/srv/sandbox/probe', container_path: '/mnt/probe' }]) } };
    return pod;
  });
  return { mountgate, webhooks };
}
