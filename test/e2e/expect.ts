/** What the reference says mountgate adds to a Pod (section 7 of docs/reference.md), built independently. */
import { createHash } from 'node:crypto';
import type { V1Pod, V1Volume, V1VolumeMount } from '@kubernetes/client-node';

export function volumeName(hostPath: string): string {
  return `mountgate-${createHash('sha256').update(hostPath).digest('hex').slice(0, 12)}`;
}

export function injectedVolume(hostPath: string, type: 'Directory' | 'DirectoryOrCreate'): V1Volume {
  return { name: volumeName(hostPath), hostPath: { path: hostPath, type } };
}

export function injectedMount(hostPath: string, mountPath: string, readOnly: boolean): V1VolumeMount {
  return readOnly ? { name: volumeName(hostPath), mountPath, readOnly: true } : { name: volumeName(hostPath), mountPath };
}

/**
 * Read-only mounts may also carry `recursiveReadOnly: IfPossible` (the reference allows it); this
 * checks that it is either absent or exactly that, and drops it so mounts compare whole.
 */
export function normalizeMounts(mounts: readonly V1VolumeMount[] | undefined): V1VolumeMount[] {
  return (mounts ?? []).map((mount) => {
    const { recursiveReadOnly, ...rest } = mount;
    if (recursiveReadOnly !== undefined && !(recursiveReadOnly === 'IfPossible' && mount.readOnly === true)) {
      throw new Error(`unexpected recursiveReadOnly ${recursiveReadOnly} on ${JSON.stringify(mount)}`);
    }
    return rest;
  });
}

/** The container called name, or an error. */
export function container(pod: V1Pod, name: string): NonNullable<V1Pod['spec']>['containers'][number] {
  const found = pod.spec?.containers.find((c) => c.name === name);
  if (found === undefined) throw new Error(`the Pod has no container ${name}`);
  return found;
}

/** The stored spec, minus nothing: a deep copy through JSON (so undefined fields vanish). */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
