/**
 * The Pod Security preflight, through the real API server: mountgate watches namespace labels and,
 * where the enforce level forbids hostPath, refuses an injecting Pod up front, naming the label to
 * change, instead of leaving Pod Security Admission to refuse the mutated Pod with a message that
 * never mentions mountgate.
 */
import { expect } from 'chai';
import { sleep } from './controlplane.js';
import { apiError, deletePod, ENABLED_LABEL, sandboxPod, uniqueName } from './env.js';
import { container, volumeName } from './expect.js';
import { e2e } from './hooks.js';

const ENFORCE = 'pod-security.kubernetes.io/enforce';
const MOUNTS = [{ hostPath: '/srv/sandbox/psa', mountPath: '/mnt/psa' }];

/** Creates a namespace the webhooks select, with an optional enforce level, and removes it after. */
async function withNamespace<T>(level: string | undefined, body: (namespace: string) => Promise<T>): Promise<T> {
  const { core } = e2e();
  const name = uniqueName(`mg-psa-${level ?? 'none'}`);
  await core.createNamespace({ body: { metadata: { name, labels: { [ENABLED_LABEL]: 'true', ...(level ? { [ENFORCE]: level } : {}) } } } });
  try {
    return await body(name);
  } finally {
    await core.deleteNamespace({ name });
  }
}

/** The namespace cache follows the API by watch; give it a moment, bounded, to see a change. */
async function untilAnswer(probe: () => Promise<string>, wanted: (answer: string) => boolean): Promise<string> {
  let answer = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    answer = await probe();
    if (wanted(answer)) return answer;
    await sleep(200);
  }
  return answer;
}

function createAnswer(namespace: string, name: string): () => Promise<string> {
  return async () => {
    const { core } = e2e();
    try {
      await core.createNamespacedPod({ namespace, body: sandboxPod(name, MOUNTS), dryRun: 'All' });
      return 'admitted';
    } catch (error) {
      return (await apiError(Promise.reject(error))).message;
    }
  };
}

describe('e2e: Pod Security preflight', () => {
  it('reports its namespace cache as synced', async () => {
    expect(await e2e().mountgate.metric('mountgate_podsecurity_cache_synced', {})).to.equal(1);
  });

  for (const level of ['baseline', 'restricted']) {
    it(`refuses an injecting Pod in a namespace that enforces ${level}, naming the label`, async () => {
      const { mutateWebhook } = e2e();
      await withNamespace(level, async (namespace) => {
        const expected =
          `admission webhook "${mutateWebhook}" denied the request: mountgate denied the Pod: request.namespace: ` +
          `namespace "${namespace}" enforces Pod Security level "${level}", which forbids hostPath volumes; ` +
          `label it ${ENFORCE}=privileged (kubectl label namespace ${namespace} ${ENFORCE}=privileged --overwrite) or exempt it to use host mounts`;
        expect(await untilAnswer(createAnswer(namespace, uniqueName('psa')), (answer) => answer === expected)).to.equal(expected);
      });
    });
  }

  it('lets the Pod through in a privileged namespace, and follows a relabelled one', async () => {
    const { core } = e2e();
    await withNamespace('baseline', async (namespace) => {
      const name = uniqueName('psa');
      expect(await untilAnswer(createAnswer(namespace, name), (answer) => answer.includes('enforces Pod Security level "baseline"'))).to.include(
        'enforces Pod Security level "baseline"',
      );
      await core.patchNamespace({ name: namespace, body: [{ op: 'replace', path: `/metadata/labels/${ENFORCE.replace('/', '~1')}`, value: 'privileged' }] });
      expect(await untilAnswer(createAnswer(namespace, name), (answer) => answer === 'admitted')).to.equal('admitted');
      try {
        const stored = await core.createNamespacedPod({ namespace, body: sandboxPod(name, MOUNTS) });
        expect(container(stored, 'sandbox').volumeMounts?.map((m) => m.name)).to.include(volumeName('/srv/sandbox/psa'));
      } finally {
        await deletePod(core, namespace, name);
      }
    });
  });

  it('leaves a Pod that asks for nothing to Pod Security Admission itself', async () => {
    const { core, mutateWebhook } = e2e();
    await withNamespace('restricted', async (namespace) => {
      // The sandbox Pod's own built-in hostPath volumes break "restricted": the refusal is PSA's, not mountgate's.
      const error = await apiError(core.createNamespacedPod({ namespace, body: sandboxPod(uniqueName('psa')), dryRun: 'All' }));
      expect(error.message).to.not.include(mutateWebhook);
      expect(error.message).to.match(/violates PodSecurity "restricted:latest": .*restricted volume types \(volumes "skills", "user-data" use restricted volume type "hostPath"\)/, error.message);
    });
  });
});
