/**
 * The Helm chart installed into the real API server: no kubelet runs, so the Deployment never
 * starts, but every object the chart renders is validated and stored by the API (including the
 * webhook configurations' CEL matchConditions), the chart's `lookup` of its own certificates works
 * across an upgrade, and the installed webhooks really are in force (failing closed, since nothing
 * serves them).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  KubernetesObjectApi,
  type KubernetesObject,
  type V1ConfigMap,
  type V1MutatingWebhookConfiguration,
  type V1Secret,
  type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { apiError, deletePod, ENABLED_LABEL, isNotFound, SUITE_POLICY, sandboxPod, uniqueName } from './env.js';
import { e2e } from './hooks.js';
import { MOUNTGATE_MAIN } from './mountgate-process.js';
import { CHART_DIR, findHelm, RENDER_ONLY_IMAGE } from './webhooks.js';

const execFileAsync = promisify(execFile);

async function helm(args: readonly string[]): Promise<string> {
  const bin = await findHelm();
  if (bin === undefined) throw new Error('helm not found: run scripts/install-helm.sh (or set HELM)');
  const { kubeconfigPath } = e2e().cp;
  const { stdout } = await execFileAsync(bin, [...args, '--kubeconfig', kubeconfigPath], { timeout: 180_000, maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

function objectsOf(manifest: string): KubernetesObject[] {
  return parseAllDocuments(manifest)
    .map((doc): unknown => doc.toJS())
    .filter((doc): doc is KubernetesObject => typeof doc === 'object' && doc !== null && 'kind' in doc);
}

function describeObject(o: KubernetesObject): string {
  return `${o.kind ?? '?'}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? '?'}`;
}

describe('e2e: the Helm chart installed into the API server', () => {
  it('installs, upgrades (reusing its certificates) and uninstalls, every object accepted by the API', async function () {
    this.timeout(600_000);
    const env = e2e();
    const objects = KubernetesObjectApi.makeApiClient(env.cp.admin);
    const release = uniqueName('mg-chart');
    const namespace = uniqueName('mg-e2e-chart');
    const fullname = `${release}-mountgate`;
    const selected = uniqueName('mg-e2e-chart-selected');
    const values = path.join(env.dir, `${release}-values.yaml`);
    const policy: unknown = parseYaml(await readFile(SUITE_POLICY, 'utf8'));
    // Only this test's namespace: the release's webhooks fail closed here (nothing serves them), and the
    // API server may keep enforcing its backstop for a moment after the uninstall; other suites' namespaces
    // carry the enabled label too.
    const onlySelected = { [ENABLED_LABEL]: 'true', 'mountgate.io/e2e-chart-release': release };
    await writeFile(values, stringifyYaml({ policy, replicaCount: 2, image: { repository: RENDER_ONLY_IMAGE }, webhook: { namespaceSelector: { matchLabels: onlySelected } } }));

    let installed = false;
    const podName = uniqueName('chart-selected');
    try {
      await env.core.createNamespace({ body: { metadata: { name: selected, labels: onlySelected } } });
      await helm(['install', release, CHART_DIR, '--namespace', namespace, '--create-namespace', '--values', values]);
      installed = true;

      // Every object of the release is stored by the API server as rendered.
      const manifest = objectsOf(await helm(['get', 'manifest', release, '--namespace', namespace]));
      const kinds = manifest.map((o) => o.kind).sort();
      expect(kinds).to.include.members([
        'ConfigMap',
        'Deployment',
        'MutatingWebhookConfiguration',
        'PodDisruptionBudget',
        'Secret',
        'Service',
        'ServiceAccount',
        'ValidatingWebhookConfiguration',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ]);
      for (const rendered of manifest) {
        const stored = await objects.read({
          apiVersion: rendered.apiVersion ?? '',
          kind: rendered.kind ?? '',
          metadata: { name: rendered.metadata?.name ?? '', namespace: rendered.metadata?.namespace ?? namespace },
        });
        expect(stored.metadata?.uid, describeObject(rendered)).to.be.a('string');
        expect(stored.metadata?.labels?.['app.kubernetes.io/instance'], describeObject(rendered)).to.equal(release);
      }

      // The webhooks point at the chart's Service and trust the CA the chart generated.
      const mutating = await objects.read<V1MutatingWebhookConfiguration>({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: fullname },
      });
      const validating = await objects.read<V1ValidatingWebhookConfiguration>({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: fullname },
      });
      const caSecret = await env.core.readNamespacedSecret({ namespace, name: `${fullname}-ca` });
      const caBundle = caSecret.data?.['tls.crt'];
      expect(caBundle).to.be.a('string');
      expect((mutating.webhooks ?? []).map((w) => w.name)).to.deep.equal(['pods.mutate.mountgate.io']);
      expect((validating.webhooks ?? []).map((w) => w.name)).to.deep.equal(['pods.validate.mountgate.io', 'annotations.validate.mountgate.io']);
      for (const webhook of [...(mutating.webhooks ?? []), ...(validating.webhooks ?? [])]) {
        expect(webhook.clientConfig.service?.name).to.equal(fullname);
        expect(webhook.clientConfig.service?.namespace).to.equal(namespace);
        expect(webhook.clientConfig.caBundle).to.equal(caBundle);
        expect(webhook.failurePolicy).to.equal('Fail');
      }
      const tlsBefore = await tlsSecret(namespace, fullname);

      // The policy ConfigMap holds a policy mountgate itself accepts (same file the Pod would mount).
      const cm: V1ConfigMap = await env.core.readNamespacedConfigMap({ namespace, name: configMapName(manifest) });
      const policyFile = path.join(env.dir, `${release}-policy.yaml`);
      await writeFile(policyFile, cm.data?.['policy.yaml'] ?? '');
      const podFile = path.join(env.dir, `${release}-pod.json`);
      await writeFile(podFile, JSON.stringify(sandboxPod('check', [{ hostPath: '/srv/sandbox/x', mountPath: '/mnt/x' }])));
      const check = await execFileAsync(process.execPath, [MOUNTGATE_MAIN, 'check', '--config', policyFile, '-f', podFile], { timeout: 60_000 });
      expect(check.stdout).to.contain('mountPath: /mnt/x');

      // The installed webhooks are in force: nothing serves them (no kubelet), so they fail closed.
      const status = await apiError(
        env.core.createNamespacedPod({ namespace: selected, body: sandboxPod(podName, [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/a' }]) }),
      );
      expect(status.code).to.equal(500);
      expect(status.message).to.contain(`failed calling webhook "pods.mutate.mountgate.io": failed to call webhook: Post "https://${fullname}.${namespace}.svc:443/mutate?timeout=5s"`);

      // The backstop is in force too, and answers first: a hand-written hostPath without the
      // annotation (which the mutating webhook never sees) is refused by the API server itself.
      await expectBackstopRefuses(selected, `${fullname}-backstop`);

      // An upgrade looks its certificates up in the cluster and keeps them.
      await helm(['upgrade', release, CHART_DIR, '--namespace', namespace, '--values', values, '--set', 'replicaCount=3']);
      const upgraded = await objects.read<V1MutatingWebhookConfiguration>({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: fullname },
      });
      expect(upgraded.webhooks?.[0]?.clientConfig.caBundle).to.equal(caBundle);
      expect(await tlsSecret(namespace, fullname)).to.deep.equal(tlsBefore);

      // Uninstall (without hooks: the pre-delete Job would never run here) removes the webhooks.
      await helm(['uninstall', release, '--namespace', namespace, '--no-hooks']);
      installed = false;
      expect(await isNotFound(objects.read({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: fullname } }))).to.equal(true);
      expect(await isNotFound(objects.read({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: fullname } }))).to.equal(true);
      expect(await isNotFound(objects.read({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: `${fullname}-backstop` } }))).to.equal(true);
    } finally {
      try {
        if (installed) await helm(['uninstall', release, '--namespace', namespace, '--no-hooks']);
      } finally {
        await deletePod(env.core, selected, podName);
      }
    }
  });
});

/** Polls (policies load asynchronously) until the backstop refuses a hand-written `hostPath: /` in the namespace. */
async function expectBackstopRefuses(namespace: string, policy: string): Promise<void> {
  const { core } = e2e();
  const pod = sandboxPod(uniqueName('chart-backstop'));
  pod.spec?.volumes?.push({ name: 'root', hostPath: { path: '/' } });
  let last = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const status = await apiError(core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' }));
    if (status.code === 403 && status.message.includes(`ValidatingAdmissionPolicy '${policy}'`)) {
      expect(status.message).to.contain('denied request: spec.volumes[2].hostPath.path (volume "root"): "/" is not under any allowed or built-in host path');
      return;
    }
    last = status.message;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the chart's backstop ${policy} was not in force within 20 s (last answer: ${last})`);
}

async function tlsSecret(namespace: string, fullname: string): Promise<V1Secret['data']> {
  const { core } = e2e();
  const secrets = await core.listNamespacedSecret({ namespace });
  const tls = secrets.items.find((s) => s.type === 'kubernetes.io/tls' && s.metadata?.name !== `${fullname}-ca`);
  if (tls === undefined) throw new Error(`no serving certificate Secret in ${namespace}`);
  return tls.data;
}

function configMapName(manifest: readonly KubernetesObject[]): string {
  const cm = manifest.find((o) => o.kind === 'ConfigMap');
  const name = cm?.metadata?.name;
  if (name === undefined) throw new Error('the chart rendered no ConfigMap');
  return name;
}
