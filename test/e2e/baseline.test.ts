/**
 * podSecurity: baseline through the real API server, held to the API server's own Pod Security
 * Admission: the same generated Pods (no hostPath volumes) go to a namespace that PSA enforces at
 * baseline and mountgate does not select, and to one mountgate selects and PSA leaves at privileged.
 * Both must admit the same Pods and refuse the others for the same controls.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import fc from 'fast-check';
import { ENFORCE_LABEL } from '../../src/admission/pod-security.js';
import { generatedPod } from './baseline-pods.js';
import { apiError, uniqueName } from './env.js';
import { e2e } from './hooks.js';

const RUNS = 200;

/** PSA's reason for each control, as its denial names it, and the field of mountgate's denial that marks it. */
const CONTROLS: ReadonlyArray<{ readonly reason: string; readonly field: RegExp }> = [
  { reason: 'host namespaces', field: /^spec\.host(Network|PID|IPC)$/ },
  { reason: 'privileged', field: /\.securityContext\.privileged$/ },
  { reason: 'non-default capabilities', field: /\.capabilities\.add\[\d+\]$/ },
  { reason: 'hostPort', field: /\.ports\[\d+\]\.hostPort$/ },
  { reason: 'hostProcess', field: /\.windowsOptions\.hostProcess$/ },
  { reason: 'seLinuxOptions', field: /\.seLinuxOptions\.(type|user|role)$/ },
  { reason: 'procMount', field: /\.procMount$/ },
  { reason: 'seccompProfile', field: /\.seccompProfile\.type$/ },
  { reason: 'forbidden AppArmor profile', field: /(\.appArmorProfile\.type|^metadata\.annotations\[container\.apparmor\.security\.beta\.kubernetes\.io\/.*\])$/ },
  { reason: 'forbidden sysctls', field: /^spec\.securityContext\.sysctls\[\d+\]\.name$/ },
  { reason: 'probe or lifecycle host', field: /\.(httpGet|tcpSocket)\.host$/ },
];

/** The controls PSA's denial names ("violates PodSecurity "baseline:latest": privileged (...), hostPort (...)"). */
function psaControls(message: string): string[] {
  return CONTROLS.filter(({ reason }) => message.includes(`${reason} (`) || message.includes(`${reason}s (`)).map(({ reason }) => reason);
}

/** The controls mountgate's denial names, by the fields it lists. */
function mountgateControls(message: string): string[] {
  const fields = [...message.matchAll(/(?:: |; )((?:spec|metadata)[^\s:]*): /g)].map((match) => match[1] ?? '');
  return CONTROLS.filter(({ field }) => fields.some((f) => field.test(f))).map(({ reason }) => reason);
}

/** The same Pod with a read-only hostPath volume the suite policy allows (a built-in), which makes mountgate judge it. */
function withHostPath(pod: V1Pod): V1Pod {
  const spec = pod.spec;
  if (spec === undefined) return pod;
  return {
    ...pod,
    spec: {
      ...spec,
      volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }],
      containers: spec.containers.map((c) => ({ ...c, volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }] })),
    },
  };
}

type Answer = { readonly admitted: true } | { readonly admitted: false; readonly message: string; readonly code: number };

async function dryRunCreate(namespace: string, pod: V1Pod): Promise<Answer> {
  const body = { ...pod, metadata: { ...pod.metadata, name: uniqueName('bl') } };
  try {
    await e2e().core.createNamespacedPod({ namespace, body, dryRun: 'All' });
    return { admitted: true };
  } catch (error) {
    const status = await apiError(Promise.reject(error));
    return { admitted: false, message: status.message, code: status.code };
  }
}

describe('e2e: podSecurity baseline, held to Pod Security Admission', function () {
  let psaNamespace = '';

  before(async () => {
    psaNamespace = uniqueName('mg-psa-oracle');
    await e2e().core.createNamespace({ body: { metadata: { name: psaNamespace, labels: { [ENFORCE_LABEL]: 'baseline' } } } });
  });
  after(async () => {
    if (psaNamespace !== '') await e2e().core.deleteNamespace({ name: psaNamespace });
  });

  const privileged: V1Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'main', image: 'busybox', securityContext: { privileged: true } }] } };

  it('refuses a privileged Pod with a hostPath volume in a namespace Pod Security leaves at privileged, naming the field', async () => {
    const { enabledNs, validateWebhook } = e2e();
    expect(await dryRunCreate(enabledNs, withHostPath(privileged))).to.deep.equal({
      admitted: false,
      code: 403,
      message:
        `admission webhook "${validateWebhook}" denied the request: mountgate denied the Pod: spec.containers[0].securityContext.privileged: ` +
        'must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node (podSecurity: baseline)',
    });
  });

  it('leaves the same Pod without a hostPath volume to Pod Security', async () => {
    expect(await dryRunCreate(e2e().enabledNs, privileged)).to.deep.equal({ admitted: true });
  });

  it(`agrees with Pod Security Admission at baseline on ${RUNS} generated Pods: the same Pods admitted, the others refused for the same controls`, async function () {
    this.timeout(10 * 60_000);
    const { enabledNs } = e2e();
    const seen = { admitted: 0, refused: new Map<string, number>() };
    await fc.assert(
      fc.asyncProperty(generatedPod, async (pod) => {
        const byPsa = await dryRunCreate(psaNamespace, pod);
        const byMountgate = await dryRunCreate(enabledNs, withHostPath(pod));
        // A Pod the API server finds invalid never reaches either judge: the generator must not make one.
        for (const answer of [byPsa, byMountgate]) {
          if (!answer.admitted) expect(answer.code, answer.message).to.equal(403);
        }
        const psa = byPsa.admitted ? [] : psaControls(byPsa.message);
        // Past 20 named fields mountgate only counts the rest: then only the refusal itself is compared.
        const counted = !byMountgate.admitted && byMountgate.message.includes('more fields break Pod Security baseline');
        const mountgate = byMountgate.admitted ? [] : counted ? psa : mountgateControls(byMountgate.message);
        expect(byMountgate.admitted, byMountgate.admitted ? 'admitted' : byMountgate.message).to.equal(byPsa.admitted);
        expect(mountgate, `PSA: ${byPsa.admitted ? 'admitted' : byPsa.message}\nmountgate: ${byMountgate.admitted ? 'admitted' : byMountgate.message}`).to.deep.equal(psa);
        if (!byPsa.admitted) expect(psa, `a PSA reason no row of CONTROLS knows: ${byPsa.message}`).not.to.deep.equal([]);
        if (psa.length === 0) seen.admitted++;
        for (const control of psa) seen.refused.set(control, (seen.refused.get(control) ?? 0) + 1);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    // Each control was met often enough for the agreement to mean something, and some Pods passed.
    expect(seen.admitted, 'Pods both admitted').to.be.at.least(3);
    // Not generated (the unit rows have them): a Windows host process needs a Pod the API server accepts only as a whole
    // Windows one, and a /proc mount other than Default a Pod in a user namespace.
    const generated = CONTROLS.map(({ reason }) => reason).filter((reason) => reason !== 'hostProcess' && reason !== 'procMount');
    const missing = generated.filter((reason) => (seen.refused.get(reason) ?? 0) < 3);
    expect(missing, `controls met fewer than 3 times: ${JSON.stringify([...seen.refused])}`).to.deep.equal([]);
  });
});
