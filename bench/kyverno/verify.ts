/**
 * The Pod the Kyverno section times, and the checks made before timing: both
 * admission controllers inject exactly what the reference prescribes for it
 * and deny a few bad requests, so the numbers compare two working policies.
 */
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { uniqueName } from '../../test/e2e/env.js';
import { injectedMount, injectedVolume, normalizeMounts } from '../../test/e2e/expect.js';
import { sandboxPod as reviewedSandboxPod, THREE_MOUNTS } from '../fixtures.js';
import type { Stack } from './stack.js';

/** The benchmark's sandbox Pod (bench/fixtures.ts) as a client sends it: no namespace, status or managedFields. */
export function timedPod(mounts: readonly unknown[] = THREE_MOUNTS): V1Pod {
  const { metadata, spec, kind, apiVersion } = reviewedSandboxPod(mounts, 1, 'no-managed-fields');
  const { namespace: _namespace, ...rest } = metadata as Record<string, unknown>;
  return { kind, apiVersion, metadata: { ...rest, name: uniqueName('bench') }, spec } as V1Pod;
}

function mountgateParts(pod: V1Pod): { volumes: unknown[]; mounts: unknown[] } {
  const sandbox = pod.spec?.containers.find((container) => container.name === 'sandbox');
  return {
    volumes: (pod.spec?.volumes ?? []).filter((volume) => volume.name.startsWith('mountgate-')).sort((a, b) => a.name.localeCompare(b.name)),
    mounts: normalizeMounts((sandbox?.volumeMounts ?? []).filter((mount) => mount.name.startsWith('mountgate-'))).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** The injected volumes and mounts the reference prescribes for THREE_MOUNTS (docs/reference.md section 7). */
function expectedParts(): { volumes: unknown[]; mounts: unknown[] } {
  const entries = THREE_MOUNTS.map((mount) => ({ host: String(mount.host_path), target: String(mount.container_path), readOnly: mount.read_only !== false }));
  return {
    volumes: entries.map((entry) => injectedVolume(entry.host, entry.readOnly ? 'Directory' : 'DirectoryOrCreate')).sort((a, b) => a.name.localeCompare(b.name)),
    mounts: entries.map((entry) => injectedMount(entry.host, entry.target, entry.readOnly)).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export async function verify(stack: Stack): Promise<string[]> {
  const expected = expectedParts();
  const verified: string[] = [];
  for (const namespace of [stack.kyvernoNs, stack.mountgateNs]) {
    const who = namespace === stack.kyvernoNs ? 'Kyverno' : 'mountgate';
    const good = await stack.core.createNamespacedPod({ namespace, body: timedPod(), dryRun: 'All' });
    // Through JSON: the client's model objects carry undefined fields and their own key order.
    const got: unknown = JSON.parse(JSON.stringify(mountgateParts(good)));
    if (!isDeepStrictEqual(got, expected)) throw new Error(`${who} did not inject the reference's volumes and mounts: ${JSON.stringify(got)} (expected ${JSON.stringify(expected)})`);
    verified.push(`${who} admits the timed Pod with the 3 volumes and mounts the reference prescribes (names, types, read-only flags)`);
    for (const bad of [
      { host_path: '/etc', container_path: '/mnt/etc' },
      { host_path: '/srv/sandbox2/x', container_path: '/mnt/x' },
      { host_path: '/srv/models/x', container_path: '/mnt/x', read_only: false },
      { host_path: '/srv/sandbox/x', container_path: '/mnt/skills/x' },
    ]) {
      const denied = await stack.core.createNamespacedPod({ namespace, body: timedPod([bad]), dryRun: 'All' }).then(
        () => false,
        () => true,
      );
      if (!denied) throw new Error(`${who} admitted ${JSON.stringify(bad)}`);
    }
    verified.push(`${who} denies /etc, a look-alike prefix (/srv/sandbox2), a read-write model and a reserved target`);
  }
  return verified;
}
