/**
 * The admin's path on a real node, as the README and the chart README tell it: the image built
 * from the Dockerfile, `helm install` with the Helm-generated CA and 2 replicas, both replicas
 * Ready with the chart's hardened defaults, `helm test` green, the sandbox namespace labelled.
 */
import { expect } from 'chai';
import { AdmissionregistrationV1Api, AppsV1Api, PolicyV1Api, type V1Pod } from '@kubernetes/client-node';
import { CHART_DIR } from '../chart/helm.js';
import { ENABLED_LABEL } from '../e2e/env.js';
import { FULLNAME, MOUNTGATE_IMAGE, RELEASE, RELEASE_NAMESPACE, SANDBOX_NAMESPACE } from './env.js';
import { run } from './commands.js';
import { helm } from './helm.js';
import { node } from './hooks.js';
import { createNamespace, waitForReplicas } from './kube.js';

describe('the admin installs mountgate on a real node', function () {
  it('helm install (2 replicas, Helm-generated CA) into a namespace enforcing Pod Security restricted: both mountgate Pods Running and Ready from the image built from the Dockerfile', async function () {
    const { cluster, valuesFile } = node();
    const started = Date.now();
    // The chart README: every Pod of the chart meets the restricted level, so its namespace can enforce it.
    await createNamespace(cluster.core, RELEASE_NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await helm(cluster.cp.kubeconfigPath, [
      'install', RELEASE, CHART_DIR, '--namespace', RELEASE_NAMESPACE, '--values', valuesFile, '--wait', '--timeout', '4m',
    ]);
    const pods = await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
    for (const pod of pods) {
      const status = pod.status?.containerStatuses?.[0];
      console.log(`      ${pod.metadata?.name ?? '?'}: ${pod.status?.phase ?? '?'}, ready ${String(status?.ready)}, image ${status?.image ?? '?'} (${status?.imageID ?? '?'}), IP ${pod.status?.podIP ?? '?'}`);
      expect(pod.status?.phase).to.equal('Running');
      expect(status?.image).to.equal(`${MOUNTGATE_IMAGE.repository}:${MOUNTGATE_IMAGE.tag}`);
    }
    console.log(`      helm install --wait took ${Math.round((Date.now() - started) / 1000)} s`);
  });

  it("runs them with the chart's hardened defaults: non-root 65532, read-only root filesystem, no capabilities, RuntimeDefault seccomp, probes, a PDB", async function () {
    const { cluster } = node();
    const pods = await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
    const spec = podSpec(pods[0]);
    const c = spec.containers[0];
    expect(spec.securityContext?.runAsNonRoot).to.equal(true);
    expect(spec.securityContext?.runAsUser).to.equal(65532);
    expect(c?.securityContext?.readOnlyRootFilesystem).to.equal(true);
    expect(c?.securityContext?.allowPrivilegeEscalation).to.equal(false);
    expect(c?.securityContext?.capabilities?.drop).to.deep.equal(['ALL']);
    expect(c?.securityContext?.seccompProfile?.type).to.equal('RuntimeDefault');
    expect(c?.readinessProbe?.httpGet?.path).to.equal('/readyz');
    expect(c?.livenessProbe?.httpGet?.path).to.equal('/healthz');
    const pdb = await cluster.cp.admin.makeApiClient(PolicyV1Api).readNamespacedPodDisruptionBudget({ name: FULLNAME, namespace: RELEASE_NAMESPACE });
    expect(pdb.status?.currentHealthy).to.equal(2);
    expect(pdb.status?.disruptionsAllowed).to.equal(1);
    const deployment = await cluster.cp.admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: FULLNAME, namespace: RELEASE_NAMESPACE });
    expect(deployment.status?.readyReplicas).to.equal(2);
  });

  it('inside a running mountgate container: UID 65532, no effective capabilities, the root filesystem refuses writes, /tmp takes them', async function () {
    const { cluster } = node();
    const [pod] = await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
    const { stdout } = await run(cluster.cp.kubectl, [
      '--kubeconfig', cluster.cp.kubeconfigPath, 'exec', '--namespace', RELEASE_NAMESPACE, pod?.metadata?.name ?? '', '--container', 'mountgate',
      '--', 'node', '-e', IN_CONTAINER_CHECK,
    ]);
    console.log(`      in the container: ${stdout.trim()}`);
    const seen: unknown = JSON.parse(stdout);
    expect(seen).to.deep.equal({ uid: 65532, gid: 65532, capEff: '0000000000000000', rootWrite: 'EROFS', tmpWrite: 'ok' });
  });

  it('helm test passes: its Pod calls the webhook through the Service (cluster DNS name, kube-proxy)', async function () {
    const { cluster } = node();
    const { stdout } = await helm(cluster.cp.kubeconfigPath, ['test', RELEASE, '--namespace', RELEASE_NAMESPACE, '--timeout', '3m']);
    console.log(stdout.trim().replace(/^/gm, '      | '));
    expect(stdout).to.match(/Phase:\s+Succeeded/);
  });

  it('labels the sandbox namespace as documented; both webhooks select it and serve from the Service', async function () {
    const { cluster } = node();
    await createNamespace(cluster.core, SANDBOX_NAMESPACE, { [ENABLED_LABEL]: 'true', 'pod-security.kubernetes.io/enforce': 'privileged' });
    const admission = cluster.cp.admin.makeApiClient(AdmissionregistrationV1Api);
    const mutating = await admission.readMutatingWebhookConfiguration({ name: FULLNAME });
    const validating = await admission.readValidatingWebhookConfiguration({ name: FULLNAME });
    for (const hook of [mutating.webhooks?.[0], validating.webhooks?.[0]]) {
      expect(hook?.clientConfig.service?.name).to.equal(FULLNAME);
      expect(hook?.clientConfig.service?.namespace).to.equal(RELEASE_NAMESPACE);
      expect(hook?.failurePolicy).to.equal('Fail');
    }
  });
});

/** Run with `node -e` in the mountgate container: node is the one program its image surely has. */
const IN_CONTAINER_CHECK = String.raw`
const fs = require('fs');
const capEff = /CapEff:\s*(\S+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];
const attempt = (file) => { try { fs.writeFileSync(file, 'x'); fs.unlinkSync(file); return 'ok'; } catch (e) { return e.code; } };
console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), capEff, rootWrite: attempt('/app/probe'), tmpWrite: attempt('/tmp/probe') }));
`;

function podSpec(pod: V1Pod | undefined): NonNullable<V1Pod['spec']> {
  const spec = pod?.spec;
  if (spec === undefined) throw new Error('a mountgate Pod without a spec');
  return spec;
}
