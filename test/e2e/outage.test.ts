/**
 * mountgate down, failurePolicy: Fail: the API server refuses Pods in the selected namespaces
 * (fail closed: no unchecked hostPath gets through) while other namespaces work as usual.
 */
import { expect } from 'chai';
import { apiError, deletePod, sandboxPod, uniqueName } from './env.js';
import { container, injectedMount, injectedVolume, normalizeMounts, plain } from './expect.js';
import { e2e } from './hooks.js';

describe('e2e: mountgate unavailable with failurePolicy Fail', () => {
  it('refuses sandbox Pods in selected namespaces and still admits Pods in excluded ones', async () => {
    const env = e2e();
    const refusedName = uniqueName('outage');
    const plainName = uniqueName('outage-plain');
    const excludedName = uniqueName('outage-excluded');
    await env.mountgate.stop();
    try {
      const status = await apiError(
        env.core.createNamespacedPod({
          namespace: env.enabledNs,
          body: sandboxPod(refusedName, [{ hostPath: '/srv/sandbox/outage', mountPath: '/mnt/workspace' }]),
        }),
      );
      const { hostname, port } = new URL(env.mountgate.url);
      const quotedHost = hostname.replace(/[.[\]]/g, (c) => `\\${c}`);
      expect(status.code).to.equal(500);
      expect(status.message).to.match(
        new RegExp(
          `^Internal error occurred: failed calling webhook "${env.mutateWebhook.replace(/\./g, '\\.')}": ` +
            `failed to call webhook: Post "https://${quotedHost}:${port}/mutate\\?timeout=${env.mutateTimeoutSeconds}s": ` +
            `dial tcp ${quotedHost}:${port}: connect: connection refused$`,
        ),
      );

      // A Pod without the annotation in the same namespace is refused as well: nothing is unchecked.
      // (By the validating webhook when the mutating one only sees annotated Pods, as in the chart.)
      const plainStatus = await apiError(env.core.createNamespacedPod({ namespace: env.enabledNs, body: sandboxPod(plainName) }));
      expect(plainStatus.code).to.equal(500);
      const first = env.mutateSeesEveryPod ? env.mutateWebhook : env.validateWebhook;
      expect(plainStatus.message).to.contain(`failed calling webhook "${first}": failed to call webhook: Post "${env.mountgate.url}/`);

      // The excluded namespace is not selected, so its Pods (even annotated ones) go through, untouched.
      const created = await env.core.createNamespacedPod({
        namespace: env.excludedNs,
        body: sandboxPod(excludedName, [{ hostPath: '/srv/sandbox/outage', mountPath: '/mnt/workspace' }]),
      });
      expect(created.spec?.volumes?.map((v) => v.name)).to.deep.equal(['skills', 'user-data']);
    } finally {
      await env.mountgate.start();
      await deletePod(env.core, env.enabledNs, refusedName);
      await deletePod(env.core, env.enabledNs, plainName);
      await deletePod(env.core, env.excludedNs, excludedName);
    }
    // Back up: the same request is admitted again.
    const name = uniqueName('after-outage');
    try {
      const created = await env.core.createNamespacedPod({
        namespace: env.enabledNs,
        body: sandboxPod(name, [{ hostPath: '/srv/sandbox/outage', mountPath: '/mnt/workspace' }]),
      });
      expect(plain(created.spec?.volumes)).to.deep.equal([
        { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
        { name: 'user-data', hostPath: { path: `/.deer-flow/threads/${name}/user-data`, type: 'DirectoryOrCreate' } },
        injectedVolume('/srv/sandbox/outage', 'DirectoryOrCreate'),
      ]);
      expect(normalizeMounts(container(created, 'sandbox').volumeMounts)).to.deep.equal([
        { name: 'skills', mountPath: '/mnt/skills', readOnly: true },
        { name: 'user-data', mountPath: '/mnt/user-data' },
        injectedMount('/srv/sandbox/outage', '/mnt/workspace', false),
      ]);
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });
});
