/** What mountgate adds to a Pod: volume names, volume and mount objects. */
import { hash } from 'node:crypto';
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { HostPathType } from '../policy/schema.js';

export const VOLUME_PREFIX = 'mountgate-';

export function isInjectedName(name: string): boolean {
  return name.startsWith(VOLUME_PREFIX);
}

/** `mountgate-` and the first 12 hex digits of the SHA-256 of the host path. */
export function volumeName(hostPath: string): string {
  return VOLUME_PREFIX + hash('sha256', hostPath, 'hex').slice(0, 12);
}

/** One accepted, merged request. */
export interface PlannedMount {
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  /** The volume's path: hostPath itself, or an ancestor of it (volumeRoot: writableAncestor) with the rest of hostPath as the mount's subPath. */
  readonly root: string;
}

export interface Injection {
  readonly volumes: V1Volume[];
  readonly mounts: V1VolumeMount[];
}

/** The volumes and mounts for the accepted requests: one volume per distinct root, each name hashed once. */
export function plannedInjection(mounts: readonly PlannedMount[], hostPathType: HostPathType): Injection {
  const byRoot = new Map<string, { name: string; everyMountReadOnly: boolean }>();
  for (const mount of mounts) {
    const seen = byRoot.get(mount.root);
    if (seen === undefined) byRoot.set(mount.root, { name: volumeName(mount.root), everyMountReadOnly: mount.readOnly });
    else seen.everyMountReadOnly &&= mount.readOnly;
  }
  const volumes = [...byRoot].map(([path, { name, everyMountReadOnly }]) => ({
    name,
    hostPath: {
      path,
      type: hostPathType === 'auto' ? (everyMountReadOnly ? 'Directory' : 'DirectoryOrCreate') : hostPathType,
    },
  }));
  return { volumes, mounts: mounts.map((mount) => plannedMount(mount, byRoot.get(mount.root)?.name ?? volumeName(mount.root))) };
}

function plannedMount(mount: PlannedMount, name: string): V1VolumeMount {
  // The root is hostPath or an ancestor of it by whole segments: the rest, without its leading "/", is relative.
  const subPath = mount.root === mount.hostPath ? undefined : mount.hostPath.slice(mount.root.length + 1);
  if (subPath === undefined) {
    return mount.readOnly ? { name, mountPath: mount.mountPath, readOnly: true, recursiveReadOnly: 'IfPossible' } : { name, mountPath: mount.mountPath };
  }
  return mount.readOnly
    ? { name, mountPath: mount.mountPath, subPath, readOnly: true, recursiveReadOnly: 'IfPossible' }
    : { name, mountPath: mount.mountPath, subPath };
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

const MOUNT_KEYS: ReadonlySet<string> = new Set(['name', 'mountPath', 'subPath', 'readOnly', 'recursiveReadOnly']);

/**
 * A mount already in the Pod counts as ours when it matches what mountgate
 * would add. recursiveReadOnly may be missing: API servers without the field
 * drop it, and the mount is still read-only.
 */
export function sameVolumeMount(actual: V1VolumeMount, planned: V1VolumeMount): boolean {
  for (const key of Object.keys(actual)) {
    if (!MOUNT_KEYS.has(key)) return false;
  }
  if (actual.name !== planned.name || actual.mountPath !== planned.mountPath || actual.subPath !== planned.subPath) return false;
  if (planned.readOnly === true) {
    return actual.readOnly === true && (actual.recursiveReadOnly === undefined || actual.recursiveReadOnly === planned.recursiveReadOnly);
  }
  return (actual.readOnly === undefined || actual.readOnly === false) && actual.recursiveReadOnly === undefined;
}
