/**
 * The validating webhook through a real API server: Pods that skip the annotation and write
 * hostPath volumes by hand, and ephemeral containers added through the pods/ephemeralcontainers
 * subresource (what `kubectl debug` does), by JSON patch, strategic-merge patch and replace.
 */
import { expect } from 'chai';
import { PatchStrategy, setHeaderOptions, type V1EphemeralContainer, type V1Pod } from '@kubernetes/client-node';
import { apiError, deletePod, isNotFound, sandboxPod, uniqueName } from './env.js';
import { injectedVolume, plain, volumeName } from './expect.js';
import { e2e } from './hooks.js';
import { servedWith } from './served-policy.js';

function withVolume(pod: V1Pod, name: string, hostPath: string, mountPath: string, readOnly: boolean): V1Pod {
  pod.spec?.volumes?.push({ name, hostPath: { path: hostPath, type: 'Directory' } });
  pod.spec?.containers[0]?.volumeMounts?.push(readOnly ? { name, mountPath, readOnly } : { name, mountPath });
  return pod;
}

const validatePrefix = (webhook: string): string => `admission webhook "${webhook}" denied the request: `;
const DENIED = 'mountgate denied the Pod: ';

/** Creates the Pod in the selected namespace: /validate must refuse it with `reason`, and nothing is stored. */
async function expectCreateRefused(pod: (name: string) => V1Pod, reason: string): Promise<void> {
  const env = e2e();
  const name = uniqueName('handwritten');
  try {
    const status = await apiError(env.core.createNamespacedPod({ namespace: env.enabledNs, body: pod(name) }));
    expect(status).to.deep.equal({ code: 403, reason: 'Forbidden', message: `${validatePrefix(env.validateWebhook)}${DENIED}${reason}` });
    expect(await isNotFound(env.core.readNamespacedPod({ namespace: env.enabledNs, name }))).to.equal(true);
  } finally {
    await deletePod(env.core, env.enabledNs, name);
  }
}

describe('e2e: the validating webhook refuses hostPaths that skipped the annotation', () => {
  const refused: ReadonlyArray<{ title: string; pod: (name: string) => V1Pod; reason: string }> = [
    {
      title: 'a hand-written hostPath volume outside the policy',
      pod: (name) => withVolume(sandboxPod(name), 'docker', '/var/run', '/var/run/host', true),
      reason: 'spec.volumes[2].hostPath.path: "/var/run" is not under any allowed or built-in host path',
    },
    {
      title: 'a hand-written hostPath under a read-only prefix, mounted read-write',
      pod: (name) => withVolume(sandboxPod(name), 'models', '/srv/models/qwen', '/mnt/models', false),
      reason: 'spec.containers[0].volumeMounts[2]: container "sandbox" mounts "/srv/models/qwen" read-write, but "/srv/models" is read-only',
    },
    {
      title: 'the read-only built-in mounted read-write by an init container',
      pod: (name) => {
        const pod = sandboxPod(name);
        if (pod.spec !== undefined) {
          pod.spec.initContainers = [{ name: 'init', image: 'busybox', volumeMounts: [{ name: 'skills', mountPath: '/skills' }] }];
        }
        return pod;
      },
      reason: 'spec.initContainers[0].volumeMounts[0]: container "init" mounts "/skills" read-write, but "/skills" is read-only',
    },
    {
      title: 'a block device whose devicePath lies inside a read-only host mount (the runtime makes the device node there)',
      pod: (name) => {
        const pod = withVolume(sandboxPod(name), 'models', '/srv/models/qwen', '/mnt/models', true);
        pod.spec?.volumes?.push({ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } });
        const container = pod.spec?.containers[0];
        if (container !== undefined) container.volumeDevices = [{ name: 'disk', devicePath: '/mnt/models/dev/disk0' }];
        return pod;
      },
      reason:
        'spec.containers[0].volumeDevices[0].devicePath: container "sandbox" has the block device of volume "disk" at "/mnt/models/dev/disk0", inside its mount of "/srv/models/qwen" at "/mnt/models", ' +
        'so the container runtime makes the device node "/srv/models/qwen/dev/disk0" when it is missing (crun makes it before it makes the mount read-only), but "/srv/models" is read-only; keep mount points out of read-only host paths',
    },
    {
      title: 'an emptyDir at "/mnt/models/" beside a read-only host mount at "/mnt/models" (one place, two strings), and a mount inside them',
      pod: (name) => {
        const pod = sandboxPod(name);
        pod.spec?.volumes?.push({ name: 'scratch', emptyDir: {} }, { name: 'cache', emptyDir: {} });
        pod.spec?.containers[0]?.volumeMounts?.push({ name: 'scratch', mountPath: '/mnt/models/' });
        withVolume(pod, 'models', '/srv/models/qwen', '/mnt/models', true);
        pod.spec?.containers[0]?.volumeMounts?.push({ name: 'cache', mountPath: '/mnt/models/cache' });
        return pod;
      },
      reason:
        'spec.containers[0].volumeMounts[4].mountPath: container "sandbox" mounts volume "cache" at "/mnt/models/cache", inside its mount of "/srv/models/qwen" at "/mnt/models", ' +
        'so the container runtime makes the mount point "/srv/models/qwen/cache" when it is missing (crun makes it before it makes the mount read-only), but "/srv/models" is read-only; keep mount points out of read-only host paths',
    },
  ];

  for (const c of refused) {
    it(`refuses ${c.title}`, () => expectCreateRefused(c.pod, c.reason));
  }

  it('accepts a hand-written hostPath under a read-only prefix mounted read-only', async () => {
    const env = e2e();
    const name = uniqueName('handwritten-ro');
    try {
      const created = await env.core.createNamespacedPod({
        namespace: env.enabledNs,
        body: withVolume(sandboxPod(name), 'models', '/srv/models/qwen', '/mnt/models', true),
      });
      expect(plain(created.spec?.volumes?.map((v) => v.hostPath?.path))).to.deep.equal([
        '/skills',
        `/.deer-flow/threads/${name}/user-data`,
        '/srv/models/qwen',
      ]);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });

  it('refuses a Pod whose review is over the 3 MiB body limit, though its request is a sixth of that: the API server sends each "<" as six bytes', async () => {
    const env = e2e();
    const name = uniqueName('oversize');
    const pod = withVolume(sandboxPod(name), 'docker', '/var/run', '/var/run/host', true);
    // Some 560 KB as the client sends it and the API server stores it; \u003c in the review makes it over 3 MiB.
    const first = pod.spec?.containers[0];
    if (first === undefined) throw new Error('the sandbox Pod has no container');
    first.env = [...(first.env ?? []), { name: 'PADDING', value: '<'.repeat(560_000) }];
    try {
      const status = await apiError(env.core.createNamespacedPod({ namespace: env.enabledNs, body: pod }));
      // mountgate answers 413 (docs/reference.md, "Limits"); with failurePolicy Fail the API server refuses the Pod.
      expect(status).to.deep.equal({
        code: 500,
        reason: 'InternalError',
        message: `Internal error occurred: failed calling webhook "${env.validateWebhook}": failed to call webhook: the body is larger than 3145728 bytes`,
      });
      expect(await isNotFound(env.core.readNamespacedPod({ namespace: env.enabledNs, name }))).to.equal(true);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });

  it('lets the same hand-written hostPath through in a namespace the webhooks do not select', async () => {
    const env = e2e();
    const name = uniqueName('unselected');
    try {
      const created = await env.core.createNamespacedPod({
        namespace: env.excludedNs,
        body: withVolume(sandboxPod(name), 'docker', '/var/run', '/var/run/host', true),
      });
      expect(created.spec?.volumes?.map((v) => v.hostPath?.path)).to.include('/var/run');
    } finally {
      await deletePod(env.core, env.excludedNs, name);
    }
  });
});

describe('e2e: handWrittenHostPaths: builtin (the served policy reloaded with it, then restored)', () => {
  servedWith(() => e2e().mountgate, { handWrittenHostPaths: 'builtin' });

  it('refuses a hand-written volume under allowedHostPaths, naming the setting', () =>
    expectCreateRefused(
      (name) => withVolume(sandboxPod(name), 'work', '/srv/sandbox/mine', '/mnt/work', false),
      'spec.volumes[2].hostPath.path: "/srv/sandbox/mine" is not under any built-in host path (with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)',
    ));

  it('admits the same path asked for through the annotation, and the built-ins written by hand', async () => {
    const env = e2e();
    const name = uniqueName('annotated-allowed');
    try {
      const created = await env.core.createNamespacedPod({ namespace: env.enabledNs, body: sandboxPod(name, [{ hostPath: '/srv/sandbox/mine', mountPath: '/mnt/work' }]) });
      expect(plain(created.spec?.volumes?.map((v) => v.hostPath?.path))).to.deep.equal(['/skills', `/.deer-flow/threads/${name}/user-data`, '/srv/sandbox/mine']);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });
});

describe('e2e: volumeRoot: writableAncestor (the served policy reloaded with it, then restored)', () => {
  servedWith(() => e2e().mountgate, { volumeRoot: 'writableAncestor' });

  it('the API server stores the subPath mounts both webhooks and the backstop admit: one volume at the writable root, the read-only entry at its own path', async () => {
    const env = e2e();
    const name = uniqueName('rooted');
    const root = '/srv/sandbox';
    try {
      const created = await env.core.createNamespacedPod({
        namespace: env.enabledNs,
        body: sandboxPod(name, [
          { hostPath: `${root}/${name}/work`, mountPath: '/mnt/work' },
          { hostPath: `${root}/${name}/reference`, mountPath: '/mnt/reference', readOnly: true },
          { hostPath: '/srv/models/llama', mountPath: '/mnt/models' },
        ]),
      });
      expect(plain(created.spec?.volumes?.slice(2))).to.deep.equal([injectedVolume(root, 'DirectoryOrCreate'), injectedVolume('/srv/models/llama', 'Directory')]);
      expect(plain(created.spec?.containers[0]?.volumeMounts?.slice(2))).to.deep.equal([
        { name: volumeName(root), mountPath: '/mnt/work', subPath: `${name}/work` },
        { name: volumeName(root), mountPath: '/mnt/reference', subPath: `${name}/reference`, readOnly: true, recursiveReadOnly: 'IfPossible' },
        { name: volumeName('/srv/models/llama'), mountPath: '/mnt/models', readOnly: true, recursiveReadOnly: 'IfPossible' },
      ]);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });

  it('refuses a debug container that mounts the root whole (an ephemeral container cannot have a subPath), and stores nothing', async () => {
    const env = e2e();
    const name = uniqueName('rooted-debug');
    try {
      await env.core.createNamespacedPod({ namespace: env.enabledNs, body: sandboxPod(name, [{ hostPath: `/srv/sandbox/${name}/work`, mountPath: '/mnt/work' }]) });
      const debuggerContainer: V1EphemeralContainer = { name: 'debugger', image: 'busybox', targetContainerName: 'sandbox', volumeMounts: [{ name: volumeName('/srv/sandbox'), mountPath: '/host', readOnly: true }] };
      const status = await apiError(
        env.core.patchNamespacedPodEphemeralcontainers({ namespace: env.enabledNs, name, body: [{ op: 'add', path: '/spec/ephemeralContainers', value: [debuggerContainer] }] }),
      );
      expect(status).to.deep.equal({
        code: 403,
        reason: 'Forbidden',
        message:
          `${validatePrefix(env.validateWebhook)}${DENIED}spec.ephemeralContainers[0].volumeMounts[0]: ephemeral container "debugger" mounts volume "${volumeName('/srv/sandbox')}" ("/srv/sandbox") whole, ` +
          "but the Pod's containers mount only paths below it (its volume is rooted above the requested paths, and an ephemeral container cannot have a subPath)",
      });
      const stored = await env.core.readNamespacedPod({ namespace: env.enabledNs, name });
      expect(stored.spec?.ephemeralContainers).to.equal(undefined);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });

  it('refuses a Pod that points one of those mounts at another subPath by hand (/mutate, which sees it first)', async () => {
    const env = e2e();
    const name = uniqueName('rooted-moved');
    const pod = sandboxPod(name, [{ hostPath: `/srv/sandbox/${name}/work`, mountPath: '/mnt/work' }]);
    pod.spec?.volumes?.push(injectedVolume('/srv/sandbox', 'DirectoryOrCreate'));
    pod.spec?.containers[0]?.volumeMounts?.push({ name: volumeName('/srv/sandbox'), mountPath: '/mnt/work', subPath: 'someone-else' });
    try {
      const status = await apiError(env.core.createNamespacedPod({ namespace: env.enabledNs, body: pod }));
      expect(status).to.deep.equal({
        code: 403,
        reason: 'Forbidden',
        message: `admission webhook "${env.mutateWebhook}" denied the request: ${DENIED}spec.containers[0].volumeMounts[2]: mount of "${volumeName('/srv/sandbox')}" at "/mnt/work" does not match what this request adds`,
      });
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });
});

describe('e2e: ephemeral containers (pods/ephemeralcontainers)', () => {
  const debuggerContainer = (readOnly: boolean): V1EphemeralContainer => ({
    name: 'debugger',
    image: 'busybox',
    command: ['sh'],
    stdin: true,
    tty: true,
    targetContainerName: 'sandbox',
    volumeMounts: [readOnly ? { name: 'skills', mountPath: '/debug/skills', readOnly: true } : { name: 'skills', mountPath: '/debug/skills' }],
  });

  async function withSandbox(test: (name: string) => Promise<void>): Promise<void> {
    const env = e2e();
    const name = uniqueName('debug-me');
    try {
      await env.core.createNamespacedPod({
        namespace: env.enabledNs,
        body: sandboxPod(name, [{ hostPath: '/srv/sandbox/debug', mountPath: '/mnt/workspace' }]),
      });
      await test(name);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  }

  async function expectRefused(call: Promise<unknown>, name: string): Promise<void> {
    const env = e2e();
    const status = await apiError(call);
    expect(status).to.deep.equal({
      code: 403,
      reason: 'Forbidden',
      message:
        `${validatePrefix(env.validateWebhook)}${DENIED}` +
        'spec.ephemeralContainers[0].volumeMounts[0]: container "debugger" mounts "/skills" read-write, but "/skills" is read-only',
    });
    const stored = await env.core.readNamespacedPod({ namespace: env.enabledNs, name });
    expect(stored.spec?.ephemeralContainers).to.equal(undefined);
  }

  it('refuses a read-write mount of a read-only volume added by JSON patch', async () => {
    await withSandbox(async (name) => {
      const env = e2e();
      await expectRefused(
        env.core.patchNamespacedPodEphemeralcontainers({
          namespace: env.enabledNs,
          name,
          body: [{ op: 'add', path: '/spec/ephemeralContainers', value: [debuggerContainer(false)] }],
        }),
        name,
      );
    });
  });

  it('refuses a read-write mount of a read-only volume added by strategic-merge patch', async () => {
    await withSandbox(async (name) => {
      const env = e2e();
      await expectRefused(
        env.core.patchNamespacedPodEphemeralcontainers(
          { namespace: env.enabledNs, name, body: { spec: { ephemeralContainers: [debuggerContainer(false)] } } },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        ),
        name,
      );
    });
  });

  it('refuses a read-write mount of a read-only volume added by replace (PUT)', async () => {
    await withSandbox(async (name) => {
      const env = e2e();
      const pod = await env.core.readNamespacedPod({ namespace: env.enabledNs, name });
      if (pod.spec === undefined) throw new Error('no spec');
      pod.spec.ephemeralContainers = [debuggerContainer(false)];
      await expectRefused(env.core.replaceNamespacedPodEphemeralcontainers({ namespace: env.enabledNs, name, body: pod }), name);
    });
  });

  it('refuses a privileged debugger (podSecurity: baseline), though it mounts the volume read-only', async () => {
    await withSandbox(async (name) => {
      const env = e2e();
      const status = await apiError(
        env.core.patchNamespacedPodEphemeralcontainers({
          namespace: env.enabledNs,
          name,
          body: [{ op: 'add', path: '/spec/ephemeralContainers', value: [{ ...debuggerContainer(true), securityContext: { privileged: true } }] }],
        }),
      );
      expect(status).to.deep.equal({
        code: 403,
        reason: 'Forbidden',
        message:
          `${validatePrefix(env.validateWebhook)}${DENIED}` +
          'spec.ephemeralContainers[0].securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node (podSecurity: baseline)',
      });
    });
  });

  it('accepts the same ephemeral container when it mounts the volume read-only', async () => {
    await withSandbox(async (name) => {
      const env = e2e();
      const pod = await env.core.readNamespacedPod({ namespace: env.enabledNs, name });
      if (pod.spec === undefined) throw new Error('no spec');
      pod.spec.ephemeralContainers = [debuggerContainer(true)];
      const updated = await env.core.replaceNamespacedPodEphemeralcontainers({ namespace: env.enabledNs, name, body: pod });
      expect(updated.spec?.ephemeralContainers?.map((c) => [c.name, plain(c.volumeMounts)])).to.deep.equal([
        ['debugger', [{ name: 'skills', mountPath: '/debug/skills', readOnly: true }]],
      ]);
      const stored = await env.core.readNamespacedPod({ namespace: env.enabledNs, name });
      expect(stored.spec?.ephemeralContainers?.length).to.equal(1);
    });
  });
});
