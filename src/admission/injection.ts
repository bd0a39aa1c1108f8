/** What mountgate adds to a Pod: volume names, volume and mount objects. */
import { createHash } from 'node:crypto';
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { HostPathType } from '../policy/schema.js';

export const VOLUME_PREFIX = 'mountgate-';

export function isInjectedName(name: string): boolean {
  return name.startsWith(VOLUME_PREFIX);
}

/**
 * Names already computed. A review asks for the same path several times (its
 * volume and each mount) and consecutive reviews share most paths, while a
 * SHA-256 through createHash costs microseconds. Bounded: emptied when full.
 */
const NAME_CACHE_LIMIT = 1024;
const namesByPath = new Map<string, string>();

/** `mountgate-` and the first 12 hex digits of the SHA-256 of the host path. */
export function volumeName(hostPath: string): string {
  const known = namesByPath.get(hostPath);
  if (known !== undefined) return known;
  const name = VOLUME_PREFIX + createHash('sha256').update(hostPath).digest('hex').slice(0, 12);
  if (namesByPath.size >= NAME_CACHE_LIMIT) namesByPath.clear();
  namesByPath.set(hostPath, name);
  return name;
}

/** One accepted, merged request. */
export interface PlannedMount {
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

export function plannedVolumes(mounts: readonly PlannedMount[], hostPathType: HostPathType): V1Volume[] {
  const readOnlyByPath = new Map<string, boolean>();
  for (const mount of mounts) {
    readOnlyByPath.set(mount.hostPath, (readOnlyByPath.get(mount.hostPath) ?? true) && mount.readOnly);
  }
  return [...readOnlyByPath].map(([path, everyMountReadOnly]) => ({
    name: volumeName(path),
    hostPath: {
      path,
      type: hostPathType === 'auto' ? (everyMountReadOnly ? 'Directory' : 'DirectoryOrCreate') : hostPathType,
    },
  }));
}

export function plannedVolumeMount(mount: PlannedMount): V1VolumeMount {
  const name = volumeName(mount.hostPath);
  return mount.readOnly
    ? { name, mountPath: mount.mountPath, readOnly: true, recursiveReadOnly: 'IfPossible' }
    : { name, mountPath: mount.mountPath };
}

export function sameVolume(actual: V1Volume, planned: V1Volume): boolean {
  const keys = Object.keys(actual);
  return (
    keys.length === 2 &&
    actual.name === planned.name &&
    actual.hostPath !== undefined &&
    Object.keys(actual.hostPath).length === 2 &&
    actual.hostPath.path === planned.hostPath?.path &&
    actual.hostPath.type === planned.hostPath?.type
  );
}

const MOUNT_KEYS: ReadonlySet<string> = new Set(['name', 'mountPath', 'readOnly', 'recursiveReadOnly']);

/**
 * A mount already in the Pod counts as ours when it matches what mountgate
 * would add. recursiveReadOnly may be missing: API servers without the field
 * drop it, and the mount is still read-only.
 */
export function sameVolumeMount(actual: V1VolumeMount, planned: V1VolumeMount): boolean {
  for (const key of Object.keys(actual)) {
    if (!MOUNT_KEYS.has(key)) return false;
  }
  if (actual.name !== planned.name || actual.mountPath !== planned.mountPath) return false;
  if (planned.readOnly === true) {
    return actual.readOnly === true && (actual.recursiveReadOnly === undefined || actual.recursiveReadOnly === planned.recursiveReadOnly);
  }
  return (actual.readOnly === undefined || actual.readOnly === false) && actual.recursiveReadOnly === undefined;
}
