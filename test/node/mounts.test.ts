/**
 * Real mounts on a real node: an annotated sandbox Pod admitted by the installed mountgate gets
 * its hostPath volumes from the kubelet, and what the container sees is checked from both sides.
 * What the README's security section says about the node (Directory vs DirectoryOrCreate,
 * recursiveReadOnly: IfPossible, symlinks inside an allowed tree) is observed here.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { apiError, deletePod, uniqueName, type ApiStatus } from '../e2e/env.js';
import { CHART_DIR } from '../chart/helm.js';
import { injectedVolume, volumeName } from '../e2e/expect.js';
import { sleep } from '../e2e/processes.js';
import { run } from './commands.js';
import { RELEASE, RELEASE_NAMESPACE, SANDBOX_NAMESPACE, sandboxPod } from './env.js';
import { helm } from './helm.js';
import { node } from './hooks.js';
import { finished, podLogs, waitForPod, waitForReplicas } from './kube.js';

const RUN_TIMEOUT_MS = 120_000;

/** Creates the Pod, waits for it to end, and returns its phase and log. */
/** Creates the Pod in `namespace`, waits for it to finish and prints its logs (and, unless it succeeded, how its containers ended). */
async function runIn(namespace: string, pod: V1Pod): Promise<{ phase: string; logs: string; stored: V1Pod }> {
  const { core } = node().cluster;
  const name = pod.metadata?.name ?? '';
  const stored = await core.createNamespacedPod({ namespace, body: pod });
  const phase = await waitForPod(core, namespace, name, 'to finish', RUN_TIMEOUT_MS, finished);
  const logs = await podLogs(core, namespace, name);
  console.log(`      ${name} (${phase}):\n${logs.trimEnd().replace(/^/gm, '      | ')}`);
  if (phase !== 'Succeeded') {
    const ended = await core.readNamespacedPod({ name, namespace });
    for (const status of ended.status?.containerStatuses ?? []) console.log(`      ${status.name}: ${JSON.stringify(status.state?.terminated ?? status.state)}`);
  }
  return { phase, logs, stored };
}

async function runPod(pod: V1Pod): Promise<{ phase: string; logs: string; stored: V1Pod }> {
  return runIn(SANDBOX_NAMESPACE, pod);
}

/** Creates the Pod, which mountgate must refuse, and returns the API server's refusal. */
async function refusedPod(pod: V1Pod): Promise<ApiStatus> {
  const refused = await apiError(node().cluster.core.createNamespacedPod({ namespace: SANDBOX_NAMESPACE, body: pod }));
  console.log(`      refused: ${refused.message}`);
  return refused;
}

describe('sandbox Pods get real mounts', function () {
  const created: string[] = [];
  const host = (...parts: string[]): string => path.join(node().hostRoot, ...parts);
  function named(prefix: string): string {
    const name = uniqueName(prefix);
    created.push(name);
    return name;
  }

  after(async function () {
    const { core } = node().cluster;
    for (const name of created) await deletePod(core, SANDBOX_NAMESPACE, name);
  });

  it('reads a host file through a read-only mount, cannot write to it, and writes through a read-write DirectoryOrCreate mount', async function () {
    const content = `written on the host ${randomBytes(6).toString('hex')}`;
    await mkdir(host('models', 'shared'), { recursive: true });
    await writeFile(host('models', 'shared', 'hello.txt'), `${content}\n`);
    const workspace = host('sandbox', 'alice', uniqueName('workspace'));
    expect(existsSync(workspace)).to.equal(false);

    const { phase, logs, stored } = await runPod(
      sandboxPod(named('mounts'), [
        'cat /models/hello.txt',
        'touch /models/new-file || echo "read-only mount refused the write"',
        'echo from-the-pod > /work/from-pod.txt && echo "read-write mount took the write"',
        "grep -E ' /(models|work) ' /proc/mounts",
      ].join('\n'), {
        mounts: [
          { hostPath: host('models', 'shared'), mountPath: '/models' },
          { hostPath: workspace, mountPath: '/work', readOnly: false },
        ],
      }),
    );

    expect(phase).to.equal('Succeeded');
    expect(logs).to.include(content);
    expect(logs).to.match(/touch: \/models\/new-file: Read-only file system/);
    expect(logs).to.include('read-only mount refused the write');
    expect(logs).to.include('read-write mount took the write');
    expect(existsSync(host('models', 'shared', 'new-file'))).to.equal(false);
    // DirectoryOrCreate: the kubelet made the directory on the node, and the Pod's file is in it.
    expect(statSync(workspace).isDirectory()).to.equal(true);
    expect(await readFile(path.join(workspace, 'from-pod.txt'), 'utf8')).to.equal('from-the-pod\n');
    expect(stored.spec?.volumes).to.deep.include(injectedVolume(workspace, 'DirectoryOrCreate'));
    expect(stored.spec?.volumes).to.deep.include(injectedVolume(host('models', 'shared'), 'Directory'));
  });

  it('a Directory mount of a missing path keeps the Pod from starting, with the kubelet naming the reason', async function () {
    const { core } = node().cluster;
    const missing = host('models', 'not-there');
    const name = named('missing');
    await core.createNamespacedPod({
      namespace: SANDBOX_NAMESPACE,
      body: sandboxPod(name, 'echo started', { mounts: [{ hostPath: missing, mountPath: '/models' }] }),
    });
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    let reason = '';
    while (Date.now() < deadline && reason === '') {
      const events = await core.listNamespacedEvent({ namespace: SANDBOX_NAMESPACE, fieldSelector: `involvedObject.name=${name}` });
      const failed = events.items.find((e) => e.reason === 'FailedMount');
      if (failed !== undefined) reason = `${failed.reason ?? ''}: ${failed.message ?? ''}`;
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
    console.log(`      kubelet: ${reason}`);
    expect(reason).to.include(`hostPath type check failed: ${missing} is not a directory`);
    const pod = await core.readNamespacedPod({ name, namespace: SANDBOX_NAMESPACE });
    expect(pod.status?.phase).to.equal('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.running).to.equal(undefined);
    expect(existsSync(missing)).to.equal(false);
  });

  it('recursiveReadOnly: IfPossible — what this runtime does with a mount below a read-only mount', async function () {
    const top = host('models', 'layered');
    const below = path.join(top, 'below');
    await mkdir(below, { recursive: true });
    // A filesystem mounted below the read-only directory on the node.
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'mountgate-node-test', below]);
    const name = named('rro');
    const { phase, logs } = await runPod(
      sandboxPod(name, [
        'touch /models/top-file || echo "top: refused"',
        'touch /models/below/below-file && echo "below: written" || echo "below: refused"',
      ].join('\n'), { mounts: [{ hostPath: top, mountPath: '/models' }] }),
    );
    expect(phase).to.equal('Succeeded');
    expect(logs).to.include('top: refused');

    const { cluster } = node();
    const pod = await cluster.core.readNamespacedPod({ name, namespace: SANDBOX_NAMESPACE });
    const mount = pod.status?.containerStatuses?.[0]?.volumeMounts?.find((m) => m.mountPath === '/models');
    const nodeInfo = await cluster.core.readNode({ name: 'localhost' });
    const runtimeSupport = nodeInfo.status?.runtimeHandlers?.map((h) => `${h.name === '' ? '(default)' : String(h.name)}: recursiveReadOnlyMounts=${String(h.features?.recursiveReadOnlyMounts)}`);
    console.log(`      runtime handlers: ${JSON.stringify(runtimeSupport)}; the mount's status: recursiveReadOnly=${String(mount?.recursiveReadOnly)}`);
    // The kubelet reports what it did; the container's view must agree with it.
    if (mount?.recursiveReadOnly === 'Enabled') {
      expect(logs).to.include('below: refused');
      expect(existsSync(path.join(below, 'below-file'))).to.equal(false);
    } else {
      expect(mount?.recursiveReadOnly).to.be.oneOf([undefined, 'Disabled']);
      expect(logs).to.include('below: written');
      expect(existsSync(path.join(below, 'below-file'))).to.equal(true);
    }
  });

  describe('a mountPath that is a symlink in the image (the sandbox image has /etc-link -> /etc)', function () {
    it('/etc is refused as a reserved target; /etc-link passes every rule, and the runtime mounts on /etc inside the container', async function () {
      // Read-write, as the runtime then places the Pod's /etc/hosts and /etc/resolv.conf on the mounted directory
      // (read-only, the container does not start: runc cannot create them there, and says so for /etc/hosts).
      const marker = `mounted through the image's link ${randomBytes(6).toString('hex')}`;
      const dir = host('sandbox', uniqueName('linked'));
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'marker.txt'), `${marker}\n`);
      const refused = await refusedPod(sandboxPod(named('etc-denied'), 'true', { mounts: [{ hostPath: dir, mountPath: '/etc', readOnly: true }] }));
      expect(refused.code).to.equal(403);
      expect(refused.message).to.include('is inside the reserved path "/etc"');
      const { phase, logs } = await runPod(
        sandboxPod(named('etc-link'), ['readlink /etc-link', 'cat /etc/marker.txt', 'test -e /etc/passwd || echo "the image\'s /etc is hidden"'].join('\n'), {
          mounts: [{ hostPath: dir, mountPath: '/etc-link', readOnly: false }],
        }),
      );
      expect(phase).to.equal('Succeeded');
      expect(logs).to.include(marker);
      expect(logs).to.include("the image's /etc is hidden");
      expect(existsSync(path.join(dir, 'hosts')), 'the runtime made /etc/hosts in the host directory').to.equal(true);
    });
  });

  describe('the kubelet writes into a host path before it mounts it, as root, whatever readOnly says', function () {
    /** `name` with a hand-written hostPath volume of `hostPath` (type `type`), mounted read-only at /models with `subPath`. */
    function handWritten(name: string, namespace: string, hostPath: string, type: string, subPath?: string): V1Pod {
      const pod = sandboxPod(name, 'touch /models/x 2>&1 || true; echo mounted', { namespace });
      const spec = pod.spec ?? { containers: [] };
      spec.volumes = [{ name: 'models', hostPath: { path: hostPath, type } }];
      for (const container of spec.containers) container.volumeMounts = [{ name: 'models', mountPath: '/models', readOnly: true, ...(subPath === undefined ? {} : { subPath }) }];
      return pod;
    }

    /** Runs `pod` in kube-system, which mountgate's webhooks and the backstop leave alone, and deletes it. */
    async function runUnjudged(pod: V1Pod): Promise<{ phase: string; logs: string }> {
      try {
        return await runIn('kube-system', pod);
      } finally {
        await deletePod(node().cluster.core, 'kube-system', pod.metadata?.name ?? '');
      }
    }

    it('a missing subPath of a read-only mount: refused by mountgate; where nothing judges it, the kubelet creates it', async function () {
      const eve = host('models', uniqueName('eve'));
      await mkdir(eve, { recursive: true });
      const refused = await refusedPod(handWritten(named('subpath'), SANDBOX_NAMESPACE, eve, 'Directory', 'planted/by-kubelet'));
      expect(refused.code).to.equal(403);
      // By mountgate's /validate or by the chart's backstop, whichever the API server reports first; both say it.
      expect(refused.message).to.include(`container "sandbox" mounts "${eve}" with subPath "planted/by-kubelet"`);
      expect(refused.message).to.include(`, which the kubelet creates when it is missing, but "${host('models')}" is read-only`);
      expect(existsSync(path.join(eve, 'planted'))).to.equal(false);

      const { phase, logs } = await runUnjudged(handWritten(uniqueName('subpath-unjudged'), 'kube-system', eve, 'Directory', 'planted/by-kubelet'));
      expect(phase).to.equal('Succeeded');
      expect(logs).to.match(/Read-only file system/);
      expect(statSync(path.join(eve, 'planted', 'by-kubelet')).isDirectory()).to.equal(true);
    });

    it('a missing DirectoryOrCreate path under a read-only prefix: refused by mountgate; where nothing judges it, the kubelet creates it', async function () {
      const missing = host('models', uniqueName('created'), 'by-kubelet');
      const refused = await refusedPod(handWritten(named('orcreate'), SANDBOX_NAMESPACE, missing, 'DirectoryOrCreate'));
      expect(refused.code).to.equal(403);
      expect(refused.message).to.include(`"DirectoryOrCreate" has the kubelet create "${missing}" when it is missing, but "${host('models')}" is read-only; use Directory`);
      expect(existsSync(missing)).to.equal(false);

      const { phase } = await runUnjudged(handWritten(uniqueName('orcreate-unjudged'), 'kube-system', missing, 'DirectoryOrCreate'));
      expect(phase).to.equal('Succeeded');
      expect(statSync(missing).isDirectory()).to.equal(true);
    });

    it('a missing path without a type under a read-only prefix: refused by mountgate; where nothing judges it, the container runtime creates it', async function () {
      const missing = host('models', uniqueName('untyped'), 'by-runtime');
      const refused = await refusedPod(handWritten(named('untyped'), SANDBOX_NAMESPACE, missing, ''));
      expect(refused.code).to.equal(403);
      expect(refused.message).to.include(`is not set, so the container runtime creates "${missing}" when it is missing, but "${host('models')}" is read-only; use Directory`);
      expect(existsSync(missing)).to.equal(false);

      const { phase } = await runUnjudged(handWritten(uniqueName('untyped-unjudged'), 'kube-system', missing, ''));
      expect(phase).to.equal('Succeeded');
      expect(statSync(missing).isDirectory()).to.equal(true);
    });

    it('a read-only host path mounted at /dev: refused by mountgate, as the runtime mounts the Pod\'s /dev/shm inside it, after the container\'s own mounts', async function () {
      /** `dir` mounted at /dev, the termination file elsewhere, so that /dev/shm is the one mount point inside. */
      const atDev = (name: string, namespace: string, dir: string, readOnly: boolean): V1Pod => {
        const pod = sandboxPod(name, 'ls /dev', { namespace });
        const spec = pod.spec ?? { containers: [] };
        spec.volumes = [{ name: 'models', hostPath: { path: dir, type: 'Directory' } }];
        for (const container of spec.containers) {
          container.terminationMessagePath = '/tmp/termination-log';
          container.volumeMounts = [{ name: 'models', mountPath: '/dev', readOnly }];
        }
        return pod;
      };
      const dir = host('models', uniqueName('dev'));
      await mkdir(dir, { recursive: true });
      const refused = await refusedPod(atDev(named('dev'), SANDBOX_NAMESPACE, dir, true));
      expect(refused.code).to.equal(403);
      expect(refused.message).to.include(
        `container "sandbox" has "/dev/shm" mounted by the node, as every container has, inside its mount of "${dir}" at "/dev", so the container runtime makes the mount point "${dir}/shm" when it is missing`,
      );
      expect(existsSync(path.join(dir, 'shm'))).to.equal(false);

      // Read-write and unjudged, the container starts (runc needs its /dev/null) and containerd has made the mount point in the host directory.
      await run('mknod', ['-m', '666', path.join(dir, 'null'), 'c', '1', '3']);
      const { phase, logs } = await runUnjudged(atDev(uniqueName('dev-unjudged'), 'kube-system', dir, false));
      expect(phase).to.equal('Succeeded');
      expect(logs).to.match(/^shm$/m);
      expect(statSync(path.join(dir, 'shm')).isDirectory()).to.equal(true);
    });
  });

  describe('a symlink inside an allowed tree that points outside it', function () {
    it('is followed by the kubelet: the request passes every rule and the container sees the directory outside', async function () {
      const secret = `outside the allowed tree ${randomBytes(6).toString('hex')}`;
      await writeFile(host('outside', 'secret.txt'), `${secret}\n`);
      await mkdir(host('sandbox', 'bob'), { recursive: true });
      await symlink(host('outside'), host('sandbox', 'bob', 'escape'));
      const { phase, logs } = await runPod(
        sandboxPod(named('symlink'), 'cat /escape/secret.txt', {
          mounts: [{ hostPath: host('sandbox', 'bob', 'escape'), mountPath: '/escape', readOnly: true }],
        }),
      );
      expect(phase).to.equal('Succeeded');
      expect(logs).to.include(secret);
    });

    it('a sandbox with a read-write mount can plant such a link for a later Pod to request', async function () {
      const carol = host('sandbox', 'carol');
      const planted = await runPod(
        sandboxPod(named('plant'), `ln -s ${host('outside')} /work/planted && echo planted`, {
          mounts: [{ hostPath: carol, mountPath: '/work', readOnly: false }],
        }),
      );
      expect(planted.phase).to.equal('Succeeded');
      const later = await runPod(
        sandboxPod(named('follow'), 'cat /planted/secret.txt', {
          mounts: [{ hostPath: path.join(carol, 'planted'), mountPath: '/planted', readOnly: true }],
        }),
      );
      expect(later.phase).to.equal('Succeeded');
      expect(later.logs).to.include(await readFile(host('outside', 'secret.txt'), 'utf8'));
    });

    it('what holds: under a read-only prefix a sandbox can neither ask to write nor plant a link', async function () {
      const dave = host('models', 'dave');
      await mkdir(dave, { recursive: true });
      const refused = await refusedPod(sandboxPod(named('rw-denied'), 'true', { mounts: [{ hostPath: dave, mountPath: '/models', readOnly: false }] }));
      expect(refused.code).to.equal(403);
      const { phase, logs } = await runPod(
        sandboxPod(named('noplant'), `ln -s ${host('outside')} /models/planted || echo "no link planted"`, {
          mounts: [{ hostPath: dave, mountPath: '/models' }],
        }),
      );
      expect(phase).to.equal('Succeeded');
      expect(logs).to.match(/Read-only file system/);
      expect(logs).to.include('no link planted');
      expect(existsSync(path.join(dave, 'planted'))).to.equal(false);
    });
  });

  describe('with volumeRoot: writableAncestor, a link planted below the root cannot lead the mount out of it', function () {
    /** How many times the webhook Pod's log says it took a changed policy. */
    async function policyReloads(pod: V1Pod): Promise<number> {
      const logs = await podLogs(node().cluster.core, RELEASE_NAMESPACE, pod.metadata?.name ?? '');
      return logs.split('\n').filter((line) => line.includes('"msg":"policy reloaded"')).length;
    }

    /** helm upgrade with the suite's values and `extra`, then dry runs until every replica's answer shows the setting. */
    async function upgradePolicy(extra: readonly string[], rooted: boolean): Promise<void> {
      const { cluster, valuesFile } = node();
      const replicas = await waitForReplicas(cluster.core, RELEASE_NAMESPACE, RELEASE, 2);
      const reloadsBefore = await Promise.all(replicas.map((pod) => policyReloads(pod)));
      await helm(cluster.cp.kubeconfigPath, ['upgrade', RELEASE, CHART_DIR, '--namespace', RELEASE_NAMESPACE, '--values', valuesFile, ...extra, '--wait', '--timeout', '4m']);
      // Each replica re-reads the ConfigMap when its kubelet updates the file, up to a minute or more apart. The answers
      // below can all come from one replica (the API server keeps its connection to it), so each one's log must say it.
      const reloadDeadline = Date.now() + 150_000;
      for (const [index, pod] of replicas.entries()) {
        while ((await policyReloads(pod)) <= (reloadsBefore[index] ?? 0)) {
          if (Date.now() > reloadDeadline) throw new Error(`${pod.metadata?.name ?? '?'} did not reload the policy within 150 s`);
          await sleep(1_000);
        }
      }
      // Replicas of the old release may still answer for a moment after the rollout: ten answers in a row must agree.
      // Meanwhile a Pod that one setting mutates and the other validates is refused (docs/reference.md, section 7).
      const probe = host('sandbox', 'probe', 'below');
      const expected = volumeName(rooted ? host('sandbox') : probe);
      const deadline = Date.now() + 90_000;
      let agreeing = 0;
      let mixed = 0;
      while (agreeing < 10) {
        if (Date.now() > deadline) throw new Error(`mountgate did not take volumeRoot (${String(rooted)}) within 90 s`);
        const body = sandboxPod(uniqueName('probe'), 'true', { mounts: [{ hostPath: probe, mountPath: '/p', readOnly: false }] });
        const answered = await cluster.core.createNamespacedPod({ namespace: SANDBOX_NAMESPACE, body, dryRun: 'All' }).catch(async (error: unknown) => {
          const refused = await apiError(Promise.reject(error));
          if (refused.code !== 403 || !refused.message.includes('does not match what this request adds')) throw error;
          mixed++;
          return undefined;
        });
        agreeing = answered?.spec?.volumes?.some((v) => v.name === expected) === true ? agreeing + 1 : 0;
        if (agreeing === 0) await sleep(500);
      }
      console.log(`      volumeRoot ${rooted ? 'writableAncestor' : 'requested'} in force; ${mixed} dry runs refused while the replicas disagreed`);
    }

    before(async function () {
      this.timeout(300_000);
      await upgradePolicy(['--set', 'policy.volumeRoot=writableAncestor'], true);
    });

    after(async function () {
      this.timeout(300_000);
      await upgradePolicy([], false);
    });

    it('a link a sandbox planted through its read-write mount: the later Pod is admitted with a subPath, and the kubelet refuses to start its container', async function () {
      const { core } = node().cluster;
      const frank = host('sandbox', 'frank');
      const planted = await runPod(
        sandboxPod(named('plant-rooted'), `ln -s ${host('outside')} /work/planted && echo planted`, {
          mounts: [{ hostPath: frank, mountPath: '/work', readOnly: false }],
        }),
      );
      expect(planted.phase).to.equal('Succeeded');
      // The planting Pod's own volume is the writable root above the request, with the rest as a subPath.
      expect(planted.stored.spec?.volumes).to.deep.include(injectedVolume(host('sandbox'), 'DirectoryOrCreate'));
      expect(planted.stored.spec?.containers[0]?.volumeMounts).to.deep.include({ name: volumeName(host('sandbox')), mountPath: '/work', subPath: 'frank' });

      const name = named('follow-rooted');
      const stored = await core.createNamespacedPod({
        namespace: SANDBOX_NAMESPACE,
        body: sandboxPod(name, 'cat /planted/secret.txt', { mounts: [{ hostPath: path.join(frank, 'planted'), mountPath: '/planted', readOnly: true }] }),
      });
      expect(stored.spec?.containers[0]?.volumeMounts).to.deep.include({
        name: volumeName(host('sandbox')),
        mountPath: '/planted',
        subPath: 'frank/planted',
        readOnly: true,
        recursiveReadOnly: 'IfPossible',
      });
      const waiting = await waitForPod(core, SANDBOX_NAMESPACE, name, 'a container that cannot start', RUN_TIMEOUT_MS, (pod) => {
        const state = pod.status?.containerStatuses?.[0]?.state;
        if (state?.running !== undefined || state?.terminated !== undefined) return `started: ${JSON.stringify(state)}`;
        return state?.waiting?.reason === 'CreateContainerConfigError' ? `${state.waiting.reason}: ${state.waiting.message ?? ''}` : undefined;
      });
      console.log(`      kubelet: ${waiting}`);
      expect(waiting).to.equal(`CreateContainerConfigError: failed to prepare subPath for volumeMount "${volumeName(host('sandbox'))}" of container "sandbox"`);
    });

    it('below the root, a missing read-write directory is created inside it and a read-only mount refuses writes', async function () {
      const grace = host('sandbox', 'grace');
      await mkdir(path.join(grace, 'reference'), { recursive: true });
      await writeFile(path.join(grace, 'reference', 'note.txt'), 'from the host\n');
      const work = path.join(grace, uniqueName('work'));
      const { phase, logs } = await runPod(
        sandboxPod(named('rooted'), ['echo from-the-pod > /work/out.txt && echo "wrote"', 'cat /ref/note.txt', 'touch /ref/x || echo "read-only refused"'].join('\n'), {
          mounts: [
            { hostPath: work, mountPath: '/work', readOnly: false },
            { hostPath: path.join(grace, 'reference'), mountPath: '/ref', readOnly: true },
          ],
        }),
      );
      expect(phase).to.equal('Succeeded');
      expect(logs).to.include('wrote');
      expect(logs).to.include('from the host');
      expect(logs).to.include('read-only refused');
      expect(await readFile(path.join(work, 'out.txt'), 'utf8')).to.equal('from-the-pod\n');
      expect(existsSync(path.join(grace, 'reference', 'x'))).to.equal(false);
    });
  });
});
