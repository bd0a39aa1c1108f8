/**
 * Sandbox Pods (the suite's shape; deer-flow's own are in deer-flow.test.ts) through a real API server: the annotation (both spellings) turns into
 * hostPath volumes and mounts in the stored Pod; Pods without it are stored unchanged; a
 * server-side dry run answers exactly like a real create.
 */
import { expect } from 'chai';
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { apiError, deletePod, isNotFound, sandboxPod, uniqueName, ANNOTATION } from './env.js';
import { container, injectedMount, injectedVolume, normalizeMounts, plain } from './expect.js';
import { e2e } from './hooks.js';

/** The spec with volumes sorted by name and each container's mounts by mountPath. */
function sortedSpec(spec: V1PodSpec | undefined): V1PodSpec {
  if (spec === undefined) throw new Error('the Pod has no spec');
  const copy = plain(spec);
  copy.volumes = [...(copy.volumes ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  copy.containers = copy.containers.map((c) => ({
    ...c,
    volumeMounts: normalizeMounts(c.volumeMounts).sort((a, b) => a.mountPath.localeCompare(b.mountPath)),
  }));
  return copy;
}

/**
 * The Pod as the API server stores it when no webhook touches it: a dry-run create of the same Pod
 * in the namespace the webhooks do not select (so every API default is filled in the same way).
 */
async function unmutated(pod: V1Pod): Promise<V1Pod> {
  const { core, excludedNs } = e2e();
  return core.createNamespacedPod({ namespace: excludedNs, body: pod, dryRun: 'All' });
}

interface Spelling {
  readonly title: string;
  readonly annotation: readonly Record<string, unknown>[];
}

const THREAD = 'thread-7f3a';

const spellings: readonly Spelling[] = [
  {
    title: 'hostPath/mountPath/readOnly',
    annotation: [
      { hostPath: `/srv/sandbox/${THREAD}/workspace`, mountPath: '/mnt/workspace' },
      { hostPath: '/srv/models/qwen', mountPath: '/mnt/models' },
      { hostPath: '/srv/datasets/squad', mountPath: '/mnt/datasets', readOnly: true },
    ],
  },
  {
    title: 'deer-flow host_path/container_path/read_only',
    annotation: [
      { host_path: `/srv/sandbox/${THREAD}/workspace`, container_path: '/mnt/workspace', read_only: false },
      { host_path: '/srv/models/qwen', container_path: '/mnt/models' },
      { host_path: '/srv/datasets/squad', container_path: '/mnt/datasets', read_only: true },
    ],
  },
];

describe('e2e: sandbox Pods and the annotation', () => {
  for (const spelling of spellings) {
    it(`injects the requested mounts (${spelling.title}) into the stored Pod`, async () => {
      const { core, enabledNs } = e2e();
      const name = uniqueName('sandbox');
      const pod = sandboxPod(name, spelling.annotation);
      try {
        const created = await core.createNamespacedPod({ namespace: enabledNs, body: pod });
        const stored = await core.readNamespacedPod({ namespace: enabledNs, name });
        expect(stored.metadata?.uid).to.equal(created.metadata?.uid);

        // Everything the provisioner wrote is kept, the annotation included.
        expect(stored.metadata?.annotations).to.deep.equal({ [ANNOTATION]: JSON.stringify(spelling.annotation) });
        expect(stored.metadata?.labels).to.deep.equal({ app: 'deer-flow-sandbox' });

        // The stored spec is the unmutated spec plus exactly the injected volumes and mounts.
        const base = await unmutated(pod);
        const expected = plain(base.spec);
        if (expected === undefined) throw new Error('dry run returned no spec');
        expected.volumes = [
          ...(expected.volumes ?? []),
          injectedVolume(`/srv/sandbox/${THREAD}/workspace`, 'DirectoryOrCreate'),
          injectedVolume('/srv/models/qwen', 'Directory'),
          injectedVolume('/srv/datasets/squad', 'Directory'),
        ];
        const sandbox = container({ spec: expected }, 'sandbox');
        sandbox.volumeMounts = [
          ...(sandbox.volumeMounts ?? []),
          injectedMount(`/srv/sandbox/${THREAD}/workspace`, '/mnt/workspace', false),
          injectedMount('/srv/models/qwen', '/mnt/models', true),
          injectedMount('/srv/datasets/squad', '/mnt/datasets', true),
        ];
        expect(sortedSpec(stored.spec)).to.deep.equal(sortedSpec(expected));
        // The built-ins come first, untouched.
        expect(plain(stored.spec?.volumes?.slice(0, 2))).to.deep.equal(plain(base.spec?.volumes));
      } finally {
        await deletePod(core, enabledNs, name);
      }
    });
  }

  it('stores a Pod without the annotation unchanged, though mountgate reviewed it', async () => {
    const { core, enabledNs, mountgate, mutateSeesEveryPod } = e2e();
    const name = uniqueName('plain');
    const pod = sandboxPod(name);
    const mutateBefore = await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'mutate', result: 'allowed' });
    const validateBefore = await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'validate', result: 'allowed' });
    try {
      await core.createNamespacedPod({ namespace: enabledNs, body: pod });
      const stored = await core.readNamespacedPod({ namespace: enabledNs, name });
      const base = await unmutated(pod);
      expect(plain(stored.spec)).to.deep.equal(plain(base.spec));
      expect(stored.metadata?.annotations).to.equal(undefined);
      // The chart's mutating webhook has matchConditions: only annotated Pods are sent to /mutate.
      expect(await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'mutate', result: 'allowed' })).to.equal(
        mutateBefore + (mutateSeesEveryPod ? 1 : 0),
      );
      expect(await mountgate.metric('mountgate_admission_requests_total', { endpoint: 'validate', result: 'allowed' })).to.equal(validateBefore + 1);
    } finally {
      await deletePod(core, enabledNs, name);
    }
  });

  it('answers a server-side dry-run create exactly like a real one, and stores nothing', async () => {
    const { core, enabledNs } = e2e();
    const name = uniqueName('dryrun');
    const pod = sandboxPod(name, [{ hostPath: '/srv/sandbox/dry', mountPath: '/mnt/dry' }]);
    try {
      const dry = await core.createNamespacedPod({ namespace: enabledNs, body: pod, dryRun: 'All' });
      expect(await isNotFound(core.readNamespacedPod({ namespace: enabledNs, name }))).to.equal(true);
      const real = await core.createNamespacedPod({ namespace: enabledNs, body: pod });
      expect(plain(dry.spec)).to.deep.equal(plain(real.spec));
      expect(container(dry, 'sandbox').volumeMounts?.map((m) => m.mountPath)).to.include('/mnt/dry');
    } finally {
      await deletePod(core, enabledNs, name);
    }
  });

  it('refuses a dry-run create with the same error as a real one', async () => {
    const { core, enabledNs, mutateWebhook } = e2e();
    const name = uniqueName('dryrun-denied');
    const pod = sandboxPod(name, [{ hostPath: '/etc', mountPath: '/mnt/etc' }]);
    try {
      const dry = await apiError(core.createNamespacedPod({ namespace: enabledNs, body: pod, dryRun: 'All' }));
      const real = await apiError(core.createNamespacedPod({ namespace: enabledNs, body: pod }));
      expect(dry).to.deep.equal(real);
      expect(dry).to.deep.equal({
        code: 403,
        reason: 'Forbidden',
        message:
          `admission webhook "${mutateWebhook}" denied the request: mountgate denied the Pod: ` +
          `metadata.annotations[${ANNOTATION}][0].hostPath: "/etc" is not under any allowed host path`,
      });
      expect(await isNotFound(core.readNamespacedPod({ namespace: enabledNs, name }))).to.equal(true);
    } finally {
      await deletePod(core, enabledNs, name);
    }
  });
});
