/**
 * Availability on a real node: a client keeps creating annotated Pods while `helm upgrade` rolls
 * the webhook and a mountgate Pod is deleted by hand (no creation may fail); with no replica left
 * the webhooks fail closed for sandbox Pods while kube-system Pods still start; `helm uninstall`
 * removes the webhooks first through its cleanup Job, and Pods are created normally afterwards.
 * Runs last: it uninstalls the release.
 */
import { expect } from 'chai';
import { AdmissionregistrationV1Api, AppsV1Api, type V1Pod } from '@kubernetes/client-node';
import { CHART_DIR } from '../chart/helm.js';
import { apiError, deletePod, isNotFound, uniqueName } from '../e2e/env.js';
import { sleep } from '../e2e/processes.js';
import { FULLNAME, RELEASE, RELEASE_NAMESPACE, SANDBOX_NAMESPACE, sandboxPod } from './env.js';
import { helm } from './helm.js';
import { node } from './hooks.js';
import { finished, waitForPod, waitForReplicas } from './kube.js';

/** Bounds of the load: it stops at whichever comes first. */
const LOAD_MAX_PODS = 3_000;
const LOAD_MAX_MS = 6 * 60_000;
const LOAD_PAUSE_MS = 50;

interface Load {
  readonly created: number;
  readonly mutated: number;
  readonly failures: readonly string[];
}

/**
 * Creates annotated sandbox Pods one after another until stopped. They ask for a node label no
 * node has, so they are admitted exactly like any sandbox Pod but never started.
 */
function startLoad(hostPath: string): { stop: () => Promise<Load> } {
  const { core } = node().cluster;
  let stopping = false;
  const failures: string[] = [];
  let created = 0;
  let mutated = 0;
  const started = Date.now();
  const done = (async () => {
    while (!stopping && created + failures.length < LOAD_MAX_PODS && Date.now() - started < LOAD_MAX_MS) {
      const pod: V1Pod = sandboxPod(uniqueName('load'), 'true', { mounts: [{ hostPath, mountPath: '/data' }] });
      if (pod.spec !== undefined) pod.spec.nodeSelector = { 'mountgate.io/load-test': 'never-scheduled' };
      try {
        const stored = await core.createNamespacedPod({ namespace: SANDBOX_NAMESPACE, body: pod });
        created++;
        if ((stored.spec?.volumes ?? []).some((v) => v.name.startsWith('mountgate-'))) mutated++;
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
      await sleep(LOAD_PAUSE_MS);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      return { created, mutated, failures };
    },
  };
}

describe('availability of the webhook on a real node', function () {
  this.timeout(10 * 60_000);

  after(async function () {
    const { core } = node().cluster;
    await core.deleteCollectionNamespacedPod({ namespace: SANDBOX_NAMESPACE, labelSelector: 'app=sandbox', gracePeriodSeconds: 0 });
  });

  it('helm upgrade rolls both replicas and one is deleted by hand while a client creates annotated Pods: no creation fails', async function () {
    const { cluster, valuesFile, hostRoot } = node();
    const before = (await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2)).map((p) => p.metadata?.name ?? '');
    const load = startLoad(`${hostRoot}/sandbox/load`);
    let result: Load | undefined;
    try {
      await sleep(3_000);
      await helm(cluster.cp.kubeconfigPath, [
        'upgrade', RELEASE, CHART_DIR, '--namespace', RELEASE_NAMESPACE, '--values', valuesFile,
        '--set', `podAnnotations.rolled=${uniqueName('upgrade')}`, '--wait', '--timeout', '5m',
      ]);
      const rolled = await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
      const rolledNames = rolled.map((p) => p.metadata?.name ?? '');
      expect(rolledNames.filter((n) => before.includes(n))).to.deep.equal([]);
      // By hand, with its normal grace period: SIGTERM, readiness 503, shutdown delay, exit.
      await cluster.core.deleteNamespacedPod({ name: rolledNames[0] ?? '', namespace: RELEASE_NAMESPACE });
      await sleep(2_000);
      await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
      await sleep(3_000);
    } finally {
      result = await load.stop();
    }
    console.log(`      ${result.created} Pods created during the rollout and the deletion (${result.mutated} mutated), ${result.failures.length} failed`);
    expect(result.failures).to.deep.equal([]);
    expect(result.created).to.be.greaterThan(50);
    expect(result.mutated).to.equal(result.created);
  });

  it('with both replicas gone, sandbox Pods are refused (fail closed) while kube-system Pods still start', async function () {
    const { cluster } = node();
    const apps = cluster.cp.admin.makeApiClient(AppsV1Api);
    const scale = (replicas: number): Promise<unknown> =>
      apps.replaceNamespacedDeploymentScale({
        name: FULLNAME,
        namespace: RELEASE_NAMESPACE,
        body: { metadata: { name: FULLNAME, namespace: RELEASE_NAMESPACE }, spec: { replicas } },
      });
    await scale(0);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const pods = await cluster.core.listNamespacedPod({ namespace: RELEASE_NAMESPACE, labelSelector: `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=webhook` });
      if (pods.items.length === 0) break;
      await sleep(500);
    }
    try {
      const annotated = await apiError(
        cluster.core.createNamespacedPod({
          namespace: SANDBOX_NAMESPACE,
          body: sandboxPod(uniqueName('closed'), 'true', { mounts: [{ hostPath: `${node().hostRoot}/sandbox/x`, mountPath: '/x' }] }),
        }),
      );
      console.log(`      annotated sandbox Pod: ${annotated.message}`);
      expect(annotated.message).to.match(/failed calling webhook "pods\.mutate\.mountgate\.io"/);
      const plain = await apiError(cluster.core.createNamespacedPod({ namespace: SANDBOX_NAMESPACE, body: sandboxPod(uniqueName('closed-plain'), 'true') }));
      console.log(`      plain sandbox Pod: ${plain.message}`);
      expect(plain.message).to.match(/failed calling webhook "pods\.validate\.mountgate\.io"/);

      const systemPod = uniqueName('system');
      await cluster.core.createNamespacedPod({ namespace: 'kube-system', body: sandboxPod(systemPod, 'echo kube-system still starts', { namespace: 'kube-system' }) });
      try {
        expect(await waitForPod(cluster.core, 'kube-system', systemPod, 'to finish', 120_000, finished)).to.equal('Succeeded');
      } finally {
        await deletePod(cluster.core, 'kube-system', systemPod);
      }
    } finally {
      await scale(2);
      await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
    }
  });

  it('helm uninstall deletes the webhooks first through its cleanup Job, which completes; Pods are created normally afterwards', async function () {
    const { cluster } = node();
    const admission = cluster.cp.admin.makeApiClient(AdmissionregistrationV1Api);
    const apps = cluster.cp.admin.makeApiClient(AppsV1Api);
    let uninstalled = false;
    const uninstall = helm(cluster.cp.kubeconfigPath, ['uninstall', RELEASE, '--namespace', RELEASE_NAMESPACE, '--wait', '--timeout', '4m']).finally(() => {
      uninstalled = true;
    });
    let webhooksGoneWhileServing = false;
    while (!uninstalled) {
      const webhooksGone =
        (await isNotFound(admission.readMutatingWebhookConfiguration({ name: FULLNAME }))) &&
        (await isNotFound(admission.readValidatingWebhookConfiguration({ name: FULLNAME })));
      const deploymentThere = !(await isNotFound(apps.readNamespacedDeployment({ name: FULLNAME, namespace: RELEASE_NAMESPACE })));
      if (webhooksGone && deploymentThere) webhooksGoneWhileServing = true;
      await sleep(200);
    }
    await uninstall;
    // The hook deletes its Job once it has succeeded; the Job controller's events stay.
    const events = await cluster.core.listNamespacedEvent({
      namespace: RELEASE_NAMESPACE,
      fieldSelector: `involvedObject.kind=Job,involvedObject.name=${FULLNAME}-cleanup`,
    });
    const jobEvents = events.items.map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`);
    console.log(`      cleanup Job events: ${JSON.stringify(jobEvents)}; webhooks gone while the Deployment still existed: ${String(webhooksGoneWhileServing)}`);
    expect(jobEvents).to.include('Completed: Job completed');
    expect(webhooksGoneWhileServing).to.equal(true);
    expect(await isNotFound(admission.readMutatingWebhookConfiguration({ name: FULLNAME }))).to.equal(true);
    expect(await isNotFound(admission.readValidatingWebhookConfiguration({ name: FULLNAME }))).to.equal(true);

    const after = uniqueName('after');
    await cluster.core.createNamespacedPod({ namespace: SANDBOX_NAMESPACE, body: sandboxPod(after, 'echo created after uninstall') });
    expect(await waitForPod(cluster.core, SANDBOX_NAMESPACE, after, 'to finish', 120_000, finished)).to.equal('Succeeded');
  });
});
