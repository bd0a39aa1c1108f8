/**
 * The control plane of the Kyverno section, separate from the API-server
 * section's: etcd and kube-apiserver, Kyverno with a ClusterPolicy selecting
 * one namespace, mountgate (same profile) selecting another, and a third
 * namespace no webhook selects. Both run the same policy object, so the two
 * sides of a comparison differ only in the admission controller.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';
import { freePort, sleep, startLocalControlPlane, type ControlPlane } from '../../test/e2e/controlplane.js';
import { adminUsername, ENABLED_LABEL, ignoreNotFound, uniqueName, waitForWebhooks } from '../../test/e2e/env.js';
import { makeTestCa, MountgateProcess } from '../../test/e2e/mountgate-process.js';
import { Cleanups } from '../../test/e2e/processes.js';
import { webhookConfigurations } from '../../test/e2e/webhooks.js';
import { imageEnvironment } from '../processes.js';
import { clusterPolicy, POLICY_NAME, type MountgatePolicySpec } from './policy.js';
import { SELECT_LABEL, startKyverno, type Kyverno, type KyvernoInstall } from './process.js';

const POLICY_API = { group: 'kyverno.io', version: 'v1', plural: 'clusterpolicies' } as const;
const POLICY_READY_MS = 90_000;

export interface Stack {
  readonly cp: ControlPlane;
  readonly core: CoreV1Api;
  readonly kyverno: Kyverno;
  readonly mountgate: MountgateProcess;
  readonly adminName: string;
  readonly kyvernoNs: string;
  readonly mountgateNs: string;
  readonly plainNs: string;
  /** The names the API server gives mountgate's two webhooks in its metrics. */
  readonly mountgateWebhooks: readonly string[];
  /** Replaces Kyverno's ClusterPolicy and waits until inForce says a probe Pod's answer shows it. */
  applyPolicy(spec: MountgatePolicySpec, inForce: (probe: () => Promise<V1Pod | string>) => Promise<boolean>): Promise<void>;
  tearDown(): Promise<void>;
}

export async function startStack(install: KyvernoInstall, profile: MountgatePolicySpec, probePod: () => V1Pod): Promise<Stack> {
  const cleanups = new Cleanups('Kyverno section tear-down');
  try {
    const dir = await mkdtemp(path.join(tmpdir(), 'mountgate-bench-kyverno-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Always a local one: Kyverno's CRDs and webhooks never go into a cluster named by the e2e environment variables.
    const cp = await startLocalControlPlane();
    cleanups.push(() => cp.stop());
    const core = cp.admin.makeApiClient(CoreV1Api);
    const admission = cp.admin.makeApiClient(AdmissionregistrationV1Api);
    const custom = cp.admin.makeApiClient(CustomObjectsApi);
    const adminName = await adminUsername(cp);

    const kyvernoNs = uniqueName('bench-kyverno');
    const mountgateNs = uniqueName('bench-mountgate');
    const plainNs = uniqueName('bench-plain');
    await core.createNamespace({ body: { metadata: { name: kyvernoNs, labels: { [SELECT_LABEL]: 'true' } } } });
    await core.createNamespace({ body: { metadata: { name: mountgateNs, labels: { [ENABLED_LABEL]: 'true' } } } });
    await core.createNamespace({ body: { metadata: { name: plainNs } } });

    // The creates come from the admin, so the admin is the profile's requester (the caller gives Kyverno the same).
    const spec = { ...profile, requesters: [adminName] };
    const tls = await makeTestCa(dir);
    const policyFile = path.join(dir, 'policy.yaml');
    await writeFile(policyFile, stringifyYaml(spec));
    const mountgate = new MountgateProcess({
      dir,
      policy: policyFile,
      tls,
      port: await freePort(),
      metricsPort: await freePort(),
      extraArgs: ['--pod-security-preflight', '--kubeconfig', cp.kubeconfigPath],
      // As the container runs it, so that its RSS beside Kyverno's is the image's.
      env: imageEnvironment(),
    });
    await mountgate.start();
    cleanups.push(() => mountgate.stop());
    const rendered = await webhookConfigurations({ url: mountgate.url, caBundle: tls.caPem.toString('base64'), dir });
    await admission.createMutatingWebhookConfiguration({ body: rendered.mutating });
    await admission.createValidatingWebhookConfiguration({ body: rendered.validating });
    await waitForWebhooks(core, mountgateNs, mountgate, () => probePod());

    const kyverno = await startKyverno(cp, dir, install);
    cleanups.push(() => kyverno.stop());

    const probe = async (): Promise<V1Pod | string> => {
      try {
        return await core.createNamespacedPod({ namespace: kyvernoNs, body: probePod(), dryRun: 'All' });
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    const applyPolicy = async (wanted: MountgatePolicySpec, inForce: (probe: () => Promise<V1Pod | string>) => Promise<boolean>): Promise<void> => {
      const body = clusterPolicy(wanted);
      const deadline = Date.now() + POLICY_READY_MS;
      let last = '';
      await ignoreNotFound(custom.deleteClusterCustomObject({ ...POLICY_API, name: POLICY_NAME }));
      // Kyverno's own policy webhooks answer only once its serving certificate is loaded.
      for (let attempt = 0; Date.now() < deadline && attempt < 300; attempt++) {
        try {
          await custom.createClusterCustomObject({ ...POLICY_API, body });
          break;
        } catch (error) {
          last = error instanceof Error ? error.message : String(error);
          await sleep(500);
        }
      }
      for (let attempt = 0; Date.now() < deadline && attempt < 300; attempt++) {
        kyverno.proc.assertRunning();
        if (await inForce(probe)) return;
        await sleep(500);
      }
      throw new Error(`Kyverno's ClusterPolicy did not take effect within ${POLICY_READY_MS / 1000} s (${last})\n${kyverno.proc.tail(20)}`);
    };

    return {
      cp,
      core,
      kyverno,
      mountgate,
      adminName,
      kyvernoNs,
      mountgateNs,
      plainNs,
      mountgateWebhooks: [rendered.mutateWebhookName, rendered.validateWebhookName],
      applyPolicy,
      tearDown: () => cleanups.run(),
    };
  } catch (error) {
    return await cleanups.abandon('Kyverno section set-up', error);
  }
}
